"""Nothing lost: failed, interrupted, killed and concurrent builds keep the previous report.

Every check compares the sha256 of every file of the report folder before and after, and
looks for half-written folders beside it. Killed builds run ``reportgen`` in a subprocess
and receive SIGKILL at random moments, or at chosen points inside the write.

A subprocess that is to stop inside the write (or race for it) finds its numbers already
in the test's result cache (``warm``): it reaches the write in under a second, where a
fresh cache would first import JAX and compute. A subprocess that is to stop while
computing, or with a renderer helper running (which a build starts only when it must
compute), gets an empty cache.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_process import command as reportgen

from reportgen import cli
from reportgen.store import output

#: Small configs (about a second of compute); different seeds give different reports.
PREVIOUS = "seed = 1\n[data]\nn = 5\n[surface]\nresolution = 2\n[[runs]]\nepochs = 1\n"
NEXT = "seed = 2\n[data]\nn = 20\n[surface]\nresolution = 300\n[[runs]]\nepochs = 3\n"



def sha256_tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def beside(target: Path) -> list[str]:
    """What lies next to the target, lock file aside."""
    lock = output.lock_path(target).name
    return sorted(p.name for p in target.parent.iterdir() if p.name != lock)


def staging_leftovers(target: Path) -> list[str]:
    return [name for name in beside(target) if name.startswith(output.sidecar_stem(target))]


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "configs").mkdir()
    previous, following = tmp_path / "configs/previous.toml", tmp_path / "configs/next.toml"
    previous.write_text(PREVIOUS, encoding="utf-8")
    following.write_text(NEXT, encoding="utf-8")
    return previous, following


@pytest.fixture
def report(tmp_path: Path, configs: tuple[Path, Path]) -> Path:
    """A finished report folder: the 'previous report' every test must keep."""
    target = tmp_path / "out" / "report"
    assert cli.main(["compute", str(configs[0]), "--out", str(target), "-q"]) == 0
    return target


def warm(config: Path, scratch: Path) -> None:
    """Compute ``config`` here (JAX is loaded already) into the test's result cache, so
    that a ``reportgen`` subprocess with this environment reads its numbers from there."""
    out = scratch / "warm" / config.stem
    assert cli.main(["compute", str(config), "--out", str(out), "-q"]) == 0


# ---------------------------------------------------------------- in-process faults


def test_exception_mid_write_keeps_the_previous_report(
    report: Path, configs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sha256_tree(report)

    def half_then_fail(folder: Path, files: dict) -> None:
        (folder / "results.json").write_text('{"schema": "reportgen.res', encoding="utf-8")
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(output, "write_files", half_then_fail)
    with pytest.raises(RuntimeError, match="renderer exploded"):
        cli.main(["compute", str(configs[1]), "--out", str(report), "-q"])

    assert sha256_tree(report) == before
    assert beside(report) == ["report"]


def test_keyboard_interrupt_mid_write_keeps_the_previous_report(
    report: Path, configs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sha256_tree(report)

    def half_then_interrupt(folder: Path, files: dict) -> None:
        (folder / "results.json").write_text("{", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "write_files", half_then_interrupt)
    assert cli.main(["compute", str(configs[1]), "--out", str(report), "-q"]) == 130
    assert "interrupted; the previous report is untouched" in capsys.readouterr().err
    assert sha256_tree(report) == before
    assert beside(report) == ["report"]


def test_leftover_staging_folders_are_cleaned_by_the_next_build(
    report: Path, configs: tuple[Path, Path]
) -> None:
    names = [output.staging_name(report, "00000001"), output.staging_name(report, "0000000f"),
             output.retired_name(report, "99999999")]
    for name in names:
        (report.parent / name).mkdir()
        (report.parent / name / "results.json").write_text("{", encoding="utf-8")
    assert cli.main(["compute", str(configs[0]), "--out", str(report), "-q"]) == 0
    assert beside(report) == ["report"]


def test_exchange_fallback_replaces_the_report(
    report: Path, configs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where renameat2 is missing, two renames swap the folders; the result is the same."""
    monkeypatch.setattr(output, "exchange", lambda source, target: False)
    assert cli.main(["compute", str(configs[1]), "--out", str(report), "-q"]) == 0
    fallback = sha256_tree(report)
    monkeypatch.undo()
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(report.parent.parent / "cache2"))
    assert cli.main(["compute", str(configs[1]), "--out", str(report), "-q"]) == 0
    assert sha256_tree(report) == fallback
    assert beside(report) == ["report"]


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a/file").write_text("a")
    (tmp_path / "b/file").write_text("b")
    if not output.exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (tmp_path / "a/file").read_text() == "b"
    assert (tmp_path / "b/file").read_text() == "a"


def test_a_report_retired_by_a_killed_fallback_swap_is_put_back(report: Path) -> None:
    """Killed between the fallback's two renames: no target, the old one parked aside."""
    before = sha256_tree(report)
    staged = report.with_name(output.staging_name(report, "00000abc"))
    staged.mkdir()
    (staged / "results.json").write_text("{}", encoding="utf-8")
    report.rename(report.with_name(output.retired_name(report, "00004242")))

    output.clear_leftovers(report)

    assert sha256_tree(report) == before
    assert beside(report) == ["report"]


# ---------------------------------------------------------------- what --out may replace


def refused(code: int, err: str, *phrases: str) -> None:
    """Exit code 2 and one line naming --out, holding every phrase."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("reportgen: error: --out: "), err
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (symbolic links not followed), sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _users_files(target: Path, _config: Path) -> None:
    target.mkdir()
    (target / "thesis.tex").write_text("\\chapter{One}", encoding="utf-8")
    (target / "data").mkdir()
    (target / "data/points.csv").write_text("1,2\n", encoding="utf-8")


def _foreign_manifest(target: Path, _config: Path) -> None:
    target.mkdir()
    (target / "manifest.json").write_text('{"schema": "other.tool/1", "files": {}}')
    (target / "notes.txt").write_text("mine", encoding="utf-8")


def _report_and(extra: str) -> Callable[[Path, Path], None]:
    def make(target: Path, config: Path) -> None:
        assert cli.main(["compute", str(config), "--out", str(target), "-q"]) == 0
        if extra.endswith("/"):
            (target / extra).mkdir()
        elif extra == "link":
            (target / "link").symlink_to(target.parent)
        else:
            (target / extra).write_text("mine", encoding="utf-8")
    return make


NOT_OURS = {  # a folder that is not (only) reportgen's -> what the one line says
    "users-files": (_users_files, "is not empty and not a report",
                    "it holds 'data' and no reportgen manifest.json"),
    "foreign-manifest": (_foreign_manifest, "a manifest.json that is not reportgen's"),
    "report-and-a-file": (_report_and("notes.txt"), "holds 'notes.txt', which is not part"),
    "report-and-a-folder": (_report_and("drafts/"), "holds 'drafts/', which is not part"),
    "report-and-a-link": (_report_and("link"), "holds 'link', which is not part"),
}


@pytest.mark.parametrize("kind", sorted(NOT_OURS))
@pytest.mark.parametrize("command", ["compute", "build"])
def test_a_folder_that_is_not_a_report_is_refused_and_kept(
    kind: str, command: str, tmp_path: Path, configs: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9, item 1: --out over the user's files deleted them, exit 0."""
    make, *phrases = NOT_OURS[kind]
    target = tmp_path / "out" / "thesis"
    target.parent.mkdir()
    make(target, configs[0])
    capsys.readouterr()
    before, files_before = listing(target), sha256_tree(target)
    lock_before = output.lock_path(target).exists()

    code = cli.main([command, "--out", str(target), "-q"])

    refused(code, capsys.readouterr().err, str(target), *phrases)
    assert listing(target) == before and sha256_tree(target) == files_before
    assert beside(target) == ["thesis"]
    assert output.lock_path(target).exists() == lock_before  # a refusal creates nothing


@pytest.mark.parametrize("out", [".", "{cwd}", ".."])
@pytest.mark.parametrize("cwd", ["project", "empty"])
def test_the_working_directory_is_refused(
    out: str, cwd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--out .` in a project folder deleted the whole project; an empty one vanished."""
    here = tmp_path / "parent" / cwd
    here.mkdir(parents=True)
    if cwd == "project":
        (here / "main.py").write_text("print('mine')\n", encoding="utf-8")
    monkeypatch.chdir(here)
    before = listing(tmp_path)

    code = cli.main(["compute", "--out", out.format(cwd=here), "-q"])

    refused(code, capsys.readouterr().err, "is the working directory or holds it")
    assert listing(tmp_path) == before


@pytest.mark.parametrize("holding", ["nothing", ".DS_Store"])
def test_an_empty_folder_is_replaced(
    holding: str, tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """Empty, or holding only what a file manager drops there."""
    target = tmp_path / "empty"
    target.mkdir()
    if holding != "nothing":
        (target / holding).write_bytes(b"\0\0\0\1Bud1")
    assert cli.main(["compute", str(configs[0]), "--out", str(target), "-q"]) == 0
    assert sorted(sha256_tree(target)) == ["manifest.json", "results.json"]
    (target / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # a report Finder has shown
    assert cli.main(["compute", str(configs[1]), "--out", str(target), "-q"]) == 0


def test_leftovers_are_matched_literally_never_as_a_pattern(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """Issue 9, item 2: `--out '/x/*'` deleted `.thesis.tmp-notes/` and `.photos.old-2023/`."""
    folder = tmp_path / "x"
    folder.mkdir()
    for name in (".thesis.tmp-notes", ".photos.old-2023", ".star.tmp-abcdefgh"):
        (folder / name).mkdir()
        (folder / name / "keep.txt").write_text(name, encoding="utf-8")
    before = listing(folder)

    assert cli.main(["compute", str(configs[0]), "--out", str(folder / "*"), "-q"]) == 0
    # a target named like the user's folder: theirs is neither removed nor put in its place
    assert cli.main(["compute", str(configs[0]), "--out", str(folder / "photos"), "-q"]) == 0

    after = listing(folder)
    assert set(before) <= set(after)
    assert all((folder / name / "keep.txt").read_text() == name
               for name in (".thesis.tmp-notes", ".photos.old-2023", ".star.tmp-abcdefgh"))
    assert sorted(sha256_tree(folder / "photos")) == ["manifest.json", "results.json"]
    added = {name.split("/")[0] for name in set(after) - set(before)}
    assert added == {"*", "photos", ".*.lock", ".photos.lock"}


@pytest.mark.parametrize("points_to", ["a-report", "nowhere"])
def test_a_symlink_as_out_is_refused_and_nothing_is_left(
    points_to: str, tmp_path: Path, configs: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9, item 3: exit 2, yet the new report installed and `.link.tmp-*` left."""
    real, link = tmp_path / "out" / "real", tmp_path / "out" / "link"
    real.parent.mkdir()
    if points_to == "a-report":
        assert cli.main(["compute", str(configs[0]), "--out", str(real), "-q"]) == 0
    link.symlink_to(real)
    before = sha256_tree(real) if real.exists() else None
    outside = sorted(p.name for p in real.parent.iterdir())

    code = cli.main(["compute", str(configs[1]), "--out", str(link), "-q"])

    refused(code, capsys.readouterr().err, f"{link} is a symbolic link (to {real})")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (sha256_tree(real) if real.exists() else None) == before
    assert sorted(p.name for p in real.parent.iterdir()) == outside


def test_a_previous_report_that_cannot_be_removed_is_said_truthfully(
    report: Path, configs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Should the swapped-out report resist removal, the one line says the new one is in."""
    def refuse(path: Path) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    remove_tree = output.remove_tree
    monkeypatch.setattr(output, "remove_tree", refuse)
    code = cli.main(["compute", str(configs[1]), "--out", str(report), "-q"])
    refused(code, capsys.readouterr().err, f"--out: the new report is in {report}, but the "
            "previous one could not be removed from", "(Permission denied); the next build")
    assert json.loads((report / "results.json").read_text())["config"]["seed"] == 2
    assert len(staging_leftovers(report)) == 1
    monkeypatch.setattr(output, "remove_tree", remove_tree)
    assert cli.main(["compute", str(configs[1]), "--out", str(report), "-q"]) == 0
    assert beside(report) == ["report"]


def as_ordinary_user(command: list[str]) -> list[str]:
    """``command`` run without root's right to ignore read-only folders."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to drop root")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def test_a_read_only_report_is_refused_and_kept(configs: tuple[Path, Path]) -> None:
    """Issue 9, item 3: exit 2 'Permission denied', yet the new one installed, old one left.

    Refused before anything is computed or written: a report we could not remove.
    """
    base = Path(tempfile.mkdtemp(prefix="reportgen-read-only-"))  # reachable when not root
    try:
        target, cache = base / "rep", base / "cache"
        cache.mkdir()
        config = base / "next.toml"
        shutil.copy(configs[1], config)
        assert cli.main(["compute", str(configs[0]), "--out", str(target), "-q"]) == 0
        if os.geteuid() == 0:
            for path in [base, *base.rglob("*")]:
                os.chown(path, 65534, 65534, follow_symlinks=False)
        base.chmod(0o755)
        before = sha256_tree(target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)

        done = subprocess.run(
            as_ordinary_user(reportgen("compute", config, "--out", target, "-q")),
            capture_output=True, text=True, check=False,
            env={**os.environ, "REPORTGEN_CACHE_DIR": str(cache)}, timeout=300,
        )

        refused(done.returncode, done.stderr, f"--out: {target} cannot be replaced: "
                "permission denied; make it writable or choose another folder")
        assert sha256_tree(target) == before
        assert beside(target) == ["cache", "next.toml", "rep"]
    finally:
        for path in [base, *base.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(base)


@pytest.mark.parametrize("name", ["r" * 242, "r" * 255, "é" * 127], ids=["242", "255", "254-utf8"])
def test_a_folder_name_of_any_legal_length(
    name: str, tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """Issue 9, item 12: a 242-255 byte name failed: the lock and temp names overflowed."""
    target = tmp_path / "out" / name
    for config in (*configs, configs[0]):
        assert cli.main(["compute", str(config), "--out", str(target), "-q"]) == 0
    assert json.loads((target / "results.json").read_text())["config"]["seed"] == 1
    assert beside(target) == [name]
    assert len(os.fsencode(output.lock_path(target).name)) <= 255


# ---------------------------------------------------------------- SIGKILL


def fresh_cache() -> dict[str, str]:
    """An environment with an empty result cache, so that every run really computes."""
    return {**os.environ, "REPORTGEN_CACHE_DIR": tempfile.mkdtemp(prefix="reportgen-cache-")}


def numbers_only() -> dict[str, str]:
    """An environment whose cache holds a copy of the test's results and no figures: a
    build reads its numbers and draws every figure itself."""
    env = fresh_cache()
    shutil.copytree(Path(os.environ["REPORTGEN_CACHE_DIR"]) / "results",
                    Path(env["REPORTGEN_CACHE_DIR"]) / "results")
    return env


def kill_after(command: list[str], delay: float, env: dict[str, str],
               line: str | None = None) -> int | None:
    """Run ``command``, SIGKILL it after ``delay`` seconds (counted from its first progress
    line holding ``line``, if given); its exit code if it finished first."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, text=True,
                               stderr=subprocess.DEVNULL if line is None else subprocess.PIPE)
    try:
        if line is not None:
            assert process.stderr is not None
            assert any(line in text for text in process.stderr), f"no {line!r} in its progress"
        return process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    finally:
        if process.stderr is not None:
            process.stderr.close()


def check_intact(target: Path, before: dict[str, str], finished: dict[str, str] | None) -> str:
    """The target holds the previous report, or (a build that finished) the new one whole."""
    after = sha256_tree(target)
    assert target.is_dir()
    assert [n for n in beside(target) if not n.startswith(".")] == [target.name]
    if after == before:
        return "previous"
    assert finished is not None and after == finished, "a half-written report in place"
    return "new"


#: The moments the killed runs of a command are killed at: one random moment within each
#: (from, to) fraction of the duration of a run left to finish. These runs find their
#: numbers (and figures) in the cache, so they are mostly start-up, the write, the swap
#: and the clean-up: most moments fall near the end, where the report folder is written
#: and swapped (test_killed_at_a_chosen_point_of_the_write stops at each point of that),
#: and 1.05 lets a run finish now and then. One more run, with an empty cache, is killed
#: while it computes or draws (``STAGE``).
MOMENTS = {
    "compute": [(0.0, 0.5), (0.5, 0.75), *[(0.75 + i * 0.05, 0.8 + i * 0.05) for i in range(6)]],
    "build": [(0.0, 0.6), (0.6, 0.8), (0.8, 0.95), (0.95, 1.05)],  # its run takes longer
}
#: command -> (the progress line that starts the stage, a time it surely lasts, env)
STAGE = {"compute": ("import jax", 0.25, fresh_cache),  # JAX compiles and computes
         "build": ("load renderer", 1.0, numbers_only)}  # the figures are drawn


def kill_trials(
    target: Path, command: list[str], seed: int, restore: Path
) -> list[tuple[float, str, str, int]]:
    """SIGKILL ``command`` at its ``MOMENTS`` and in its ``STAGE``; after each the report
    must be whole. The test's environment must have the numbers (and figures) cached."""
    before = sha256_tree(target)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    duration = time.perf_counter() - started
    finished = sha256_tree(target)
    assert finished != before
    _restore(target, restore)

    rng = random.Random(seed)
    line, lasting, environment = STAGE[command[3]]
    trials = [(rng.uniform(max(low * duration, 0.05), high * duration), None, os.environ.copy)
              for low, high in MOMENTS[command[3]]]
    trials.append((rng.uniform(0, lasting), line, environment))
    outcomes = []
    for delay, after_line, env in trials:
        code = kill_after([c for c in command if after_line is None or c != "-q"], delay,
                          env(), after_line)
        state = check_intact(target, before, finished)
        killed = "killed" if code is None else f"exit {code}"
        outcomes.append((round(delay, 2), killed, state, len(staging_leftovers(target))))
        if state == "new":  # finished, or killed after the swap while clearing up
            _restore(target, restore)
    print(f"\n{command[3]} trials (delay s, killed?, report in place, staging dirs left):",
          outcomes)
    return outcomes


def _restore(target: Path, copy: Path) -> None:
    """Put the previous report back (through the same atomic path) after a finished trial."""
    with output.atomic_folder(target) as folder:
        for path in copy.iterdir():
            if path.is_dir():
                shutil.copytree(path, folder / path.name)
            else:
                (folder / path.name).write_bytes(path.read_bytes())


@pytest.mark.slow
def test_compute_killed_at_random_moments_keeps_the_previous_report(
    report: Path, configs: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    before = sha256_tree(report)
    warm(configs[1], tmp_path)
    command = reportgen("compute", configs[1], "--out", report, "-q")
    outcomes = kill_trials(report, command, seed=6, restore=copy)
    assert len(outcomes) == len(MOMENTS["compute"]) + 1
    assert outcomes[-1][1] == "killed"  # while computing
    # the next build clears what the killed ones left, and the report is still whole
    assert cli.main(["compute", str(configs[0]), "--out", str(report), "-q"]) == 0
    assert sha256_tree(report) == before
    assert beside(report) == ["report"]


@pytest.mark.slow
def test_html_build_killed_at_random_moments_keeps_the_previous_report(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    target = tmp_path / "html" / "report"
    build = ["build", str(configs[0]), "--format", "html", "--out", str(target), "-q"]
    assert cli.main(build) == 0
    copy = tmp_path / "html-copy"
    shutil.copytree(target, copy)
    # its numbers and figures into the cache
    assert cli.main(["build", str(configs[1]), "--format", "html", "--out",
                     str(tmp_path / "warm"), "-q"]) == 0
    command = reportgen("build", configs[1], "--format", "html", "--out", target, "-q")
    outcomes = kill_trials(target, command, seed=7, restore=copy)
    assert len(outcomes) == len(MOMENTS["build"]) + 1
    assert outcomes[-1][1] == "killed"  # while drawing the figures
    assert cli.main(build) == 0
    assert beside(target) == ["report"]


#: Runs ``reportgen compute`` with one hook that announces a point inside the write and
#: waits there to be killed.
KILL_AT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from reportgen import cli
    from reportgen.store import output

    point, ready = sys.argv[1], Path(sys.argv[2])

    def park():
        ready.write_text("here")
        time.sleep(60)

    if point == "mid-write":
        def write(folder, files):
            (folder / "results.json").write_bytes(files["results.json"][:1000])
            park()
        output.write_files = write
    elif point == "before-swap":
        sync = output.sync_tree
        output.sync_tree = lambda folder: (sync(folder), park())
    elif point == "between-renames":
        output.exchange = lambda source, target: False
        rename = Path.rename
        def rename_then_park(self, target):
            moved = rename(self, target)
            if "reportgen-old-" in str(target):
                park()
            return moved
        Path.rename = rename_then_park
    elif point == "after-swap":
        remove = output.remove_tree
        def park_first(path):
            if "reportgen-tmp-" in str(path):
                park()
            return remove(path)
        output.remove_tree = park_first
    sys.exit(cli.main(sys.argv[3:]))
""")


@pytest.mark.parametrize("point", ["mid-write", "before-swap", "between-renames", "after-swap"])
def test_killed_at_a_chosen_point_of_the_write(
    point: str, report: Path, configs: tuple[Path, Path], tmp_path: Path
) -> None:
    before = sha256_tree(report)
    ready = tmp_path / "ready"
    warm(configs[1], tmp_path)  # straight to the write
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_AT, point, str(ready),
         "compute", str(configs[1]), "--out", str(report), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()

    if point == "after-swap":
        # the new report was already complete and in place; the old one is parked aside
        assert sha256_tree(report) != before
        assert json.loads((report / "results.json").read_text())["config"]["seed"] == 2
    elif point == "between-renames":
        assert not report.exists()  # the one moment the fallback has no target...
    else:
        assert sha256_tree(report) == before
    assert staging_leftovers(report)

    # ...and the next build puts things right before it writes anything
    output.clear_leftovers(report)
    assert beside(report) == ["report"]
    if point != "after-swap":
        assert sha256_tree(report) == before


# ---------------------------------------------------------------- signals


#: Runs ``reportgen`` and waits at a point of the build (compute, render or write) for a
#: signal; "swallowed" waits inside a garbage-collection callback, where Python prints
#: and drops any exception, as it does for JAX's _xla_gc_callback.
SIGNAL_AT = textwrap.dedent("""
    import gc, sys, time
    from pathlib import Path
    from reportgen import cli
    from reportgen.store import output

    point, how, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])

    def park():
        if how == "swallowed":
            def callback(phase, info):
                if phase == "start":
                    ready.write_text(point)
                    time.sleep(60)
            gc.callbacks.append(callback)
            gc.collect()
            gc.callbacks.remove(callback)
        else:
            ready.write_text(point)
            time.sleep(60)

    def parked(function):
        def wrapper(*args, **kwargs):
            park()
            return function(*args, **kwargs)
        return wrapper

    if point == "compute":
        from reportgen.numerics import experiment
        experiment.compute_many = parked(experiment.compute_many)
    elif point == "render":
        from reportgen.render import report
        report.render_report = parked(report.render_report)
    elif point == "write":
        write = output.write_files
        def write_half(folder, files):
            (folder / "results.json").write_bytes(files["results.json"][:1000])
            park()
            write(folder, files)
        output.write_files = write_half
    sys.exit(cli.main(sys.argv[4:]))
""")

SIGNAL_CASES = [
    ("compute", "swallowed", signal.SIGINT),
    ("compute", "plain", signal.SIGTERM),
    ("render", "plain", signal.SIGHUP),
    ("render", "swallowed", signal.SIGINT),
    ("write", "swallowed", signal.SIGTERM),
    ("write", "plain", signal.SIGINT),
    ("write", "swallowed", signal.SIGHUP),
]


@pytest.mark.parametrize(("point", "how", "signum"), SIGNAL_CASES,
                         ids=[f"{p}-{h}-{s.name}" for p, h, s in SIGNAL_CASES])
def test_a_signal_stops_the_build_and_keeps_the_report(
    point: str, how: str, signum: signal.Signals, report: Path, configs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """Issue 9, item 4: a Ctrl-C swallowed by JAX's GC hook let the build replace the report.

    Exit 128 + the signal (130, 143, 129), the report untouched, no staging folder left.
    Stopped in compute, the build is computing; in render, its renderer helper is running
    (both from an empty cache); in write, it read its numbers from the cache.
    """
    before = sha256_tree(report)
    ready = tmp_path / "ready"
    command = (["build", str(configs[1]), "--format", "html"] if point == "render"
               else ["compute", str(configs[1])])
    if point == "write":
        warm(configs[1], tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_AT, point, how, str(ready), *command,
         "--out", str(report), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=os.environ.copy() if point == "write" else fresh_cache(),
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signum)
    _, err = process.communicate(timeout=180)

    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (
        f"reportgen: interrupted ({signum.name}); the previous report is untouched")
    if how == "swallowed":
        assert "Exception ignored" in err  # the signal's exception really was dropped
    else:
        assert "Traceback" not in err
    assert sha256_tree(report) == before
    assert beside(report) == ["report"]


# ---------------------------------------------------------------- concurrent builds


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from reportgen.store import output
    with output.locked(Path(sys.argv[1])):
        Path(sys.argv[2]).write_text("locked")
        time.sleep(60)
""")


def test_a_build_started_while_another_writes_stops_with_a_clear_message(
    report: Path, configs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sha256_tree(report)
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(report), str(ready)])
    try:
        while not ready.exists():
            assert holder.poll() is None
            time.sleep(0.02)
        code = cli.main(["compute", str(configs[1]), "--out", str(report), "-q"])
        err = capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert err == (f"reportgen: error: --out: another build is writing {report}; "
                   "try again when it is done\n")
    assert sha256_tree(report) == before


def test_a_finished_build_waits_for_the_one_writing(report: Path, tmp_path: Path) -> None:
    """The lock is released when its holder dies, so a waiting build goes on."""
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(report), str(ready)])
    while not ready.exists():
        time.sleep(0.02)
    with (pytest.raises(output.OutputError, match="another build is writing"),
          output.locked(report, wait=0.2)):
        pass
    killer = subprocess.Popen(
        [sys.executable, "-c", f"import os, time; time.sleep(0.5); os.kill({holder.pid}, 9)"]
    )
    started = time.monotonic()
    with output.atomic_folder(report) as folder:
        (folder / "results.json").write_text("{}", encoding="utf-8")
    killer.wait()
    holder.wait()
    assert time.monotonic() - started >= 0.3
    assert sha256_tree(report) == {"results.json": hashlib.sha256(b"{}").hexdigest()}


@pytest.mark.slow
def test_concurrent_builds_to_one_folder_never_mix(
    report: Path, tmp_path: Path
) -> None:
    """Three builds at once: each exits 0 or 2, and the folder holds one whole report.

    Their numbers are in the cache, so all three reach the write within moments."""
    seeds = (11, 12, 13)
    commands = []
    for seed in seeds:
        config = tmp_path / f"seed{seed}.toml"
        config.write_text(NEXT.replace("seed = 2", f"seed = {seed}"), encoding="utf-8")
        warm(config, tmp_path)
        commands.append(reportgen("compute", config, "--out", report, "-q"))
    processes = [subprocess.Popen(c, stderr=subprocess.PIPE) for c in commands]
    codes = [p.wait(timeout=300) for p in processes]
    errors = [p.stderr.read().decode() if p.stderr else "" for p in processes]

    assert set(codes) <= {0, 2}, errors
    assert 0 in codes
    for code, err in zip(codes, errors, strict=True):
        assert "Traceback" not in err
        if code == 2:
            assert "another build is writing" in err
    winners = {seed for seed, code in zip(seeds, codes, strict=True) if code == 0}
    data = json.loads((report / "results.json").read_text())
    assert data["config"]["seed"] in winners
    assert sorted(sha256_tree(report)) == ["manifest.json", "results.json", "surface.npy"]
    assert beside(report) == ["report"]
