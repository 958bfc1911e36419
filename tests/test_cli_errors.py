"""Every bad input is one clear message: exit code 2, a few lines, the field, no traceback.

Table-driven: each row is a config (TOML text), extra arguments and the phrases the
message must hold. ``{tmp}`` in an argument is the test's temporary folder. Rows fail in
validation or in the output check, before any JAX compute, so the table runs in-process
and fast. Faults that need a real file system (a full disk, a read-only one) follow it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from reportgen import cli

#: A valid config small enough to compute in about a second.
SMALL = """\
[data]
n = 5
[surface]
resolution = 2
[[runs]]
epochs = 1
"""


class Case(NamedTuple):
    id: str
    toml: str | bytes | None  # None: use SMALL
    args: tuple[str, ...]
    expect: tuple[str, ...]  # phrases the message must contain


def case(id: str, toml: str | bytes | None, *expect: str, args: tuple[str, ...] = ()) -> Case:
    return Case(id, toml, args, expect)


CASES = [
    # TOML syntax
    case("toml-syntax", 'title = "x"\n[data\nn = 3\n', "invalid TOML", "line 2, column 6"),
    case("toml-unterminated", 'title = "x\n', "invalid TOML", "line 1"),
    case("not-utf8", b'title = "\xff"\n', "expected UTF-8 text"),
    # unknown keys, with a did-you-mean
    case("unknown-top", "seeds = 1\n", "seeds: unknown key", "did you mean 'seed'?"),
    case("unknown-data", "[data]\nnn = 3\n", "data.nn: unknown key", "did you mean 'n'?"),
    case("unknown-run", "[[runs]]\nlearning_rat = 0.1\n", "runs[0].learning_rat: unknown key",
         "did you mean 'learning_rate'?"),
    case("unknown-table", "[surfac]\nresolution = 3\n", "surfac: unknown key",
         "did you mean 'surface'?"),
    case("unknown-far", "zzz = 1\n", "zzz: unknown key", "expected one of title"),
    # wrong types
    case("type-title", "title = 3\n", "title: expected text in quotes, got 3"),
    case("type-lr", '[[runs]]\nlearning_rate = "fast"\n',
         'runs[0].learning_rate: expected a number, got "fast"'),
    case("type-data", "data = 3\n", "data: expected a table [data], got 3"),
    case("type-runs", "runs = 3\n", "runs: expected an array of [[runs]] tables, got 3"),
    case("type-runs-table", "[runs]\nname = 'x'\n", "runs: expected an array of [[runs]] tables"),
    case("type-run-item", "runs = [3]\n", "runs[0]: expected a [[runs]] table, got 3"),
    case("type-n-string", "[data]\nn = '100'\n", 'data.n: expected a whole number, got "100"'),
    case("type-n-bool", "[data]\nn = true\n", "data.n: expected a whole number, got true"),
    case("type-date", "date = 'tomorrow'\n", "date: expected a date like 2026-01-31"),
    case("type-theta-single", "[data]\ntheta = [1.0]\n",
         "data.theta: expected a pair [a, b], got [1.0]"),
    # counts given as floats
    case("float-n", "[data]\nn = 100.0\n", "data.n: expected a whole number, got 100.0"),
    case("float-epochs", "[[runs]]\nepochs = 10.0\n",
         "runs[0].epochs: expected a whole number, got 10.0"),
    case("float-batch", "[[runs]]\nname = 'a'\n[[runs]]\nbatch_size = 20.0\n",
         "runs[1].batch_size: expected a whole number, got 20.0"),
    case("float-resolution", "[surface]\nresolution = 10.0\n",
         "surface.resolution: expected a whole number, got 10.0"),
    case("float-seed", "seed = 1.0\n", "seed: expected a whole number, got 1.0"),
    # NaN and inf anywhere
    case("nan-lr", "[[runs]]\nlearning_rate = nan\n",
         "runs[0].learning_rate: expected a finite number, got nan"),
    case("inf-noise", "[data]\nnoise = inf\n", "data.noise: expected a finite number, got inf"),
    case("nan-theta", "[data]\ntheta = [nan, 1.0]\n",
         "data.theta[0]: expected a finite number, got nan"),
    case("ninf-surface", "[surface]\ntheta0 = [-inf, 1.0]\n",
         "surface.theta0[0]: expected a finite number, got -inf"),
    case("nan-init", "[[runs]]\ninit = [0.0, nan]\n",
         'runs[0].init: expected "random" or a pair of finite numbers', "got [0.0, nan]"),
    case("nan-momentum", "[[runs]]\noptimizer = 'momentum'\nmomentum = nan\n",
         "runs[0].momentum: expected a finite number, got nan"),
    case("nan-n", "[data]\nn = nan\n", "data.n: expected a whole number, got nan"),
    case("inf-x-range", "[data]\nx_range = [0.0, inf]\n", "data.x_range[1]: expected a finite"),
    case("nan-sweep-rate", "[sweep]\nrates = [0.1, nan]\n",
         "sweep.rates[1]: expected a finite number, got nan"),
    # bounds
    case("n-zero", "[data]\nn = 0\n", "data.n: expected a value >= 2, got 0"),
    # one point does not determine a line (and its Hessian is singular)
    case("n-one", "[data]\nn = 1\n", "data.n: expected a value >= 2, got 1"),
    case("n-negative", "[data]\nn = -5\n", "data.n: expected a value >= 2, got -5"),
    case("lr-zero", "[[runs]]\nlearning_rate = 0\n",
         "runs[0].learning_rate: expected a value > 0", "got 0"),
    case("lr-negative", "[[runs]]\nlearning_rate = -0.1\n",
         "runs[0].learning_rate: expected a value > 0", "got -0.1"),
    case("epochs-zero", "[[runs]]\nepochs = 0\n", "runs[0].epochs: expected a value >= 1, got 0"),
    case("batch-zero", "[[runs]]\nbatch_size = 0\n",
         "runs[0].batch_size: expected a value >= 1, got 0"),
    case("batch-over-n", "[data]\nn = 10\n[[runs]]\nname = 'a'\n[[runs]]\nbatch_size = 20\n",
         "runs[1].batch_size: expected 1..10 (data.n), got 20"),
    case("noise-negative", "[data]\nnoise = -1.0\n", "data.noise: expected a value >= 0",
         "got -1.0"),
    case("seed-negative", "seed = -1\n", "seed: expected a value >= 0, got -1"),
    # unknown names
    case("optimizer", "[[runs]]\noptimizer = 'sgd'\n", "runs[0].optimizer: expected 'gd',",
         "'rmsprop', got \"sgd\""),
    case("rng", "[data]\nrng = 'mt'\n", "data.rng: expected 'numpy-legacy' or 'jax', got \"mt\""),
    case("precision", "precision = 'float16'\n",
         "precision: expected 'float64' or 'float32', got \"float16\""),
    case("device", "device = 'tpu'\n", "device: expected 'auto', 'cpu' or 'gpu', got \"tpu\""),
    case("device-flag", None, "--device", "invalid choice: 'tpu'", args=("--device", "tpu")),
    # ranges
    case("surface-reversed", "[surface]\ntheta0 = [10.0, -10.0]\n",
         "surface.theta0: expected an increasing range", "got [10.0, -10.0]"),
    case("surface-empty", "[surface]\ntheta1 = [1.0, 1.0]\n",
         "surface.theta1: expected an increasing range", "got [1.0, 1.0]"),
    case("x-range-empty", "[data]\nx_range = [1.0, 1.0]\n",
         "data.x_range: expected an increasing range", "got [1.0, 1.0]"),
    case("resolution-one", "[surface]\nresolution = 1\n",
         "surface.resolution: expected a value >= 2, got 1"),
    case("resolution-huge", "[surface]\nresolution = 1000000\n",
         "surface.resolution: expected at most", "on this machine", "got 1000000"),
    # init and runs
    case("init-triple", "[[runs]]\ninit = [1.0, 2.0, 3.0]\n",
         'runs[0].init: expected "random" or a pair', "got [1.0, 2.0, 3.0]"),
    case("init-word", "[[runs]]\ninit = 'zeros'\n", 'runs[0].init: expected "random"',
         'got "zeros"'),
    case("init-number", "[[runs]]\ninit = 1.0\n", 'runs[0].init: expected "random"', "got 1.0"),
    case("no-runs", "runs = []\n", "runs: expected at least one [[runs]] table, got none"),
    # several faults: one line each, at most five
    case("several", "seed = -1\n[data]\nn = 0\nnoise = -1.0\n", "seed:", "data.n:", "data.noise:"),
    # paths
    case("missing-file", None, "config: no such file or shipped handout",
         args=("CONFIG={tmp}/nope.toml",)),
    case("missing-handout", None, "no such file or shipped handout 'nope'",
         "shipped: ", args=("CONFIG=nope",)),
    case("config-is-dir", None, "is a directory; expected a TOML file", args=("CONFIG={tmp}",)),
    # --set
    case("set-no-equals", None, "--set foo: expected KEY=VALUE", args=("--set", "foo")),
    case("set-no-key", None, "--set =1: expected KEY=VALUE", args=("--set", "=1")),
    case("set-empty-part", None, "--set data..n=1: expected KEY=VALUE",
         args=("--set", "data..n=1")),
    case("set-index", None, "--set runs.9.learning_rate: runs has 1 entry",
         "expected an index 0..0, got '9'", args=("--set", "runs.9.learning_rate=1")),
    case("set-index-word", None, "runs has 1 entry", "got 'x'",
         args=("--set", "runs.x.learning_rate=1")),
    case("set-value", None, '--set data.n=abc: data.n: expected a whole number, got "abc"',
         args=("--set", "data.n=abc")),
    case("set-value-float", None, "--set data.n=1e3: data.n: expected a whole number",
         args=("--set", "data.n=1e3")),
    case("set-value-empty", None, 'data.n: expected a whole number, got ""',
         args=("--set", "data.n=")),
    case("set-value-nan", None, "--set runs.0.learning_rate=nan: runs[0].learning_rate: "
         "expected a finite number, got nan", args=("--set", "runs.0.learning_rate=nan")),
    case("set-unknown-key", None, "--set foo=1: foo: unknown key", args=("--set", "foo=1")),
    case("set-typo", None, "--set data.nn=1: data.nn: unknown key", "did you mean 'n'?",
         args=("--set", "data.nn=1")),
    case("set-into-number", None, "--set data.n.x: data.n is 5, not a table",
         args=("--set", "data.n.x=1")),
    case("set-no-runs", None, "--set runs=[]: runs: expected at least one",
         args=("--set", "runs=[]")),
    case("set-run-scalar", None, "runs[0]: expected a [[runs]] table, got 3",
         args=("--set", "runs.0=3")),
    # huge or degenerate values (issue 9, item 8): refused before any compute
    case("theta-huge", "[data]\ntheta = [1e308, 1e308]\n",
         "data.theta: expected numbers between -1e+07 and 1e+07, got [1e+308, 1e+308]"),
    case("noise-huge", "[data]\nnoise = 1e308\n",
         "data.noise: expected a value <= 1e+07, got 1e+308"),
    case("x-range-huge", "[data]\nx_range = [-1e308, 1e308]\n",
         "data.x_range: expected numbers between -1e+07 and 1e+07"),
    case("x-range-denormal", "[data]\nx_range = [0, 5e-324]\n",
         "data.x_range: expected a range at least 1e-06 wide", "got [0.0, 5e-324]"),
    case("x-range-narrow-far", "[data]\nx_range = [1e6, 1000000.5]\n",
         "data.x_range: expected a range at least 1 wide"),
    case("surface-huge", "[surface]\ntheta1 = [-1e308, 1e308]\n",
         "surface.theta1: expected numbers between -1e+07 and 1e+07"),
    case("init-huge", "[[runs]]\ninit = [1e308, 0.0]\n",
         'runs[0].init: expected "random" or a pair of finite numbers', "and 1e+07"),
    case("sweep-init-huge", "[sweep]\nrates = [0.1]\ninit = [0.0, -1e9]\n",
         "sweep.init: expected numbers between -1e+07 and 1e+07"),
    # TOML that would recurse or crawl in tomllib: refused by a linear scan first
    case("toml-deep-array", "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
         "config.toml: line 1: expected arrays and inline tables nested at most 16 deep"),
    case("toml-deep-inline", "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n",
         "config.toml: line 1: expected arrays and inline tables nested at most 16 deep"),
    case("toml-deep-table", "[" + ".".join(["t"] * 5_000) + "]\n",
         "config.toml: line 1: expected a dotted key of at most 16 parts"),
    case("toml-long-dotted-key", "\n" + ".".join(["a"] * 50_000) + " = 1\n",
         "config.toml: line 2: expected a dotted key of at most 16 parts"),
    case("toml-deep-in-run", "[[runs]]\ninit = " + "[" * 17 + "]" * 17 + "\n",
         "config.toml: line 2: expected arrays and inline tables nested at most 16 deep"),
    # size limits (item 9)
    case("config-too-large", 'title = "' + "x" * (1 << 20) + '"\n',
         "config.toml: expected a config of at most 1,048,576 bytes, got 1,048,587"),
    case("title-long", 'title = "' + "x" * 201 + '"\n',
         "title: expected at most 200 characters, got 201"),
    case("author-long", 'author = "' + "x" * 201 + '"\n',
         "author: expected at most 200 characters, got 201"),
    case("name-long", '[[runs]]\nname = "' + "x" * 101 + '"\n',
         "runs[0].name: expected at most 100 characters, got 101"),
    case("runs-many", "[[runs]]\nepochs = 1\n" * 1000,
         "runs: expected at most 12 [[runs]] tables, got 1000"),
    case("steps-per-run", "[data]\nn = 100\n[[runs]]\nepochs = 100000\nbatch_size = 1\n",
         "runs[0].epochs: expected at most 1000000 update steps (epochs x 100 batches per "
         "epoch), got 10000000"),
    case("steps-in-all", "[[runs]]\nepochs = 600000\n[[runs]]\nepochs = 600000\n",
         "runs: expected at most 1000000 update steps in all runs together", "got 1200000"),
    case("shuffles", "[data]\nn = 1000000\n[[runs]]\nepochs = 20\nbatch_size = 500000\n",
         "runs: expected epochs x data.n of the mini-batch runs at most 1e+07"),
    case("sweep-huge", "[sweep]\nmin_rate = 0.01\nmax_rate = 1.0\nnum = 100000\n"
         "epochs = 1000000\n", "sweep: expected learning rates x epochs at most 1e+07",
         "got 1.00e+11"),
    case("work-huge", "[data]\nn = 100000\n[[runs]]\nepochs = 1000000\n",
         "runs: expected the samples read by every update step (steps x batch size, summed) "
         "at most 1e+10, got 1.00e+11"),
    # control characters in text (item 14): refused, never written into a handout
    case("title-nul", 'title = "a\\u0000b"\n',
         "title: expected text without control characters, got U+0000 at character 2"),
    case("author-newline", 'author = "a\\nb"\n',
         "author: expected text without control characters, got U+000A"),
    case("name-escape", '[[runs]]\nname = "\\u001b[31mred"\n',
         "runs[0].name: expected text without control characters, got U+001B at character 1"),
    case("set-title-c1", None, "title: expected text without control characters, got U+0085",
         args=("--set", 'title="a\\u0085"')),
    # what the config is (item 12): never opened when it is not a regular file
    case("config-fifo", None, "config: '{tmp}/fifo' is a named pipe (FIFO), not a file",
         args=("CONFIG={tmp}/fifo",)),
    case("config-dev-zero", None, "config: '/dev/zero' is a character device, not a file",
         args=("CONFIG=/dev/zero",)),
    # --set keys read with TOML's grammar, bounded, and errors blamed on the --set
    case("set-quoted-key", None, '--set data."x.y"=1: data."x.y": unknown key',
         args=("--set", 'data."x.y"=1')),
    case("set-blame-table", "[data]\nn = 5\n[[runs]]\nepochs = 1\nbatch_size = 5\n",
         "--set data={n=2}: runs[0].batch_size: expected 1..2 (data.n), got 5",
         args=("--set", "data={n=2}")),
    case("set-long-key", None, "expected a key of at most 256 characters, got 100001",
         args=("--set", ".".join(["a"] * 50_001) + "=1")),
    case("set-many-parts", None, "expected a dotted key of at most 16 parts",
         args=("--set", ".".join(["a"] * 17) + "=1")),
    case("set-deep-value", None, "--set data.theta=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
         "expected arrays and inline tables nested at most 16 deep",
         args=("--set", "data.theta=" + "[" * 100_000 + "]" * 100_000)),
    # the output folder
    case("out-under-file", None, "--out:", "is a file, not a folder",
         args=("--out", "{tmp}/config.toml/report")),
    case("out-is-file", None, "--out:", "exists and is not a folder",
         args=("--out", "{tmp}/config.toml")),
    case("out-in-proc", None, "--out: cannot write in /proc", args=("--out", "/proc/report")),
]


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep result caches out of the user's home and out of the folders under test."""
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``cli.main`` in-process; argparse's own errors arrive as SystemExit."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def argv_for(row: Case, tmp: Path) -> list[str]:
    config = tmp / "config.toml"
    if any("{tmp}/fifo" in arg for arg in row.args):
        os.mkfifo(tmp / "fifo")
    if isinstance(row.toml, bytes):
        config.write_bytes(row.toml)
    else:
        config.write_text(row.toml if row.toml is not None else SMALL, encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp)) for a in row.args]
    spec = str(config)
    for arg in list(args):
        if arg.startswith("CONFIG="):
            spec = arg.removeprefix("CONFIG=")
            args.remove(arg)
    if "--out" not in args:
        args += ["--out", str(tmp / "out")]
    return ["compute", spec, "--quiet", *args]


@pytest.mark.parametrize("row", CASES, ids=[row.id for row in CASES])
def test_bad_input_is_one_clear_message(
    row: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(argv_for(row, tmp_path), capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert 1 <= len(lines) <= (5 if "usage:" in err else 3), err
    assert all(line.startswith(("reportgen", "usage:", " ")) for line in lines), err
    assert all(len(line) < 400 for line in lines), err
    for phrase in row.expect:
        phrase = phrase.replace("{tmp}", str(tmp_path))
        assert phrase in err, f"{phrase!r} not in {err!r}"
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- real file systems


def _sha256_tree(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 128 KiB tmpfs: room for a small report, not for the default one."""
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "size=128k")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def read_only_disk(tmp_path: Path):
    disk = tmp_path / "ro"
    _mount_tmpfs(disk, "ro,size=64k")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_disk_keeps_the_previous_report(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    target = small_disk / "report"
    assert cli.main(["compute", str(config), "--out", str(target), "-q"]) == 0
    before = _sha256_tree(target)

    # The default handout's results.json (~240 KB) cannot fit in what is left.
    code, err = run_cli(["compute", "source-notebook", "--out", str(target), "-q"], capsys)

    assert code == 2
    assert err.strip().splitlines() == [
        f"reportgen: error: --out: cannot write {target} (No space left on device); "
        "the previous report is untouched"
    ]
    assert _sha256_tree(target) == before
    assert sorted(p.name for p in small_disk.iterdir()) == [".report.lock", "report"]


def test_full_disk_with_no_previous_report(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = small_disk / "report"
    code, err = run_cli(["compute", "source-notebook", "--out", str(target), "-q"], capsys)
    assert code == 2
    assert f"cannot write {target} (No space left on device); nothing was written" in err
    assert not target.exists()


@pytest.mark.parametrize("where", ["report", "sub/report"])
def test_read_only_file_system(
    read_only_disk: Path, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    argv = ["compute", str(config), "--out", str(read_only_disk / where), "-q"]
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"--out: {read_only_disk}" in err or "Read-only file system" in err


def test_disk_errors_while_writing_name_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC, EDQUOT and EFBIG from deep inside a writer become one line about --out."""
    from reportgen.store import output

    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    for code_ in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        def full(folder: Path, files: dict, code_: int = code_) -> None:
            (folder / "results.json").write_text("{", encoding="utf-8")
            raise OSError(code_, os.strerror(code_))

        monkeypatch.setattr(output, "write_files", full)
        code, err = run_cli(["compute", str(config), "--out", str(tmp_path / "out"), "-q"], capsys)
        assert code == 2
        assert err.strip() == (f"reportgen: error: --out: cannot write {tmp_path / 'out'} "
                               f"({os.strerror(code_)}); nothing was written")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "small.toml"]


@pytest.mark.parametrize(("argv", "expect"), [
    (["build", "learning-rate-study"],
     "build: learning-rate-study has a [matrix] of variants; to build them all: reportgen "
     "batch learning-rate-study (to build one, fix runs.0.learning_rate with --set)"),
    (["compute", "learning-rate-study"],
     "compute: learning-rate-study has a [matrix] of variants; to build them all: reportgen "
     "batch learning-rate-study (to compute one, fix runs.0.learning_rate with --set)"),
    (["build", "lab-course"],
     "build: lab-course has a [students] roster (a handout per student); to build them: "
     "reportgen batch lab-course"),
    (["batch", "source-notebook"],
     "batch: source-notebook has no [matrix] or [students] (it makes one handout); to build "
     "it: reportgen build source-notebook (or vary a value with --matrix KEY=V1,V2)"),
])
def test_the_wrong_command_for_a_config_names_the_right_one(
        argv: list[str], expect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, item 6: each of these exited 0, building the base values only, an
    anonymous "Student copy", or a batch of one."""
    monkeypatch.chdir(tmp_path)
    code, err = run_cli([*argv, "-q"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"reportgen: error: {expect}"]
    assert list(tmp_path.iterdir()) == []


def test_init_on_a_full_disk_leaves_nothing(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, item 13: init writes all its files or none; the 21 KB schema cannot fit
    in a 12 KiB tmpfs after handout.toml, so handout.toml is removed again."""
    disk = tmp_path / "tiny"
    _mount_tmpfs(disk, "size=12k")
    try:
        code, err = run_cli(["init", str(disk / "lecture")], capsys)
        assert code == 2
        assert err.strip().splitlines() == [
            f"reportgen: error: init: cannot write {disk / 'lecture' / 'reportgen.schema.json'} "
            "(No space left on device); nothing was written"]
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_million_samples_on_a_large_grid_is_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The work limit counts what steps read: a mini-batch step reads its batch, not n."""
    code = cli.main(["compute", "--set", "data.n=1000000", "--set", "surface.resolution=1000",
                     "--out", str(tmp_path / "big"), "-q"])
    assert code == 0, capsys.readouterr().err
