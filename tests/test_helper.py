"""The helper process (issue 14, item 5): rendering shared with a second process gives the
same bytes, survives the helper's death, and never prints a traceback on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import BrokenExecutor
from pathlib import Path

import pytest
from cli_process import start_reportgen
from results_fixture import built_handout, config_for, make_results, with_exercises

from reportgen import pipeline
from reportgen import renderer_process as helper
from reportgen.render.report import render_report
from reportgen.store.student import student_view

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "reports"


@pytest.fixture(scope="module")
def started() -> helper.Helper:
    with helper.Helper() as process:
        yield process


def test_the_helper_is_another_process(started: helper.Helper) -> None:
    assert started.submit(os.getpid).result() != os.getpid()


def handout_without_a_helper() -> dict[str, bytes]:
    """The default handout (HTML and PDF) as rendered in a process without a helper: the
    run's shared build (tests/results_fixture.py), its files by name."""
    folder = built_handout()
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".")}


def test_figures_html_and_pdf_rendered_with_the_helper_are_the_same_bytes(
    started: helper.Helper,
) -> None:
    config = config_for()
    alone = handout_without_a_helper()
    shared = pipeline.report_files(config, pipeline.compute(config), ("html", "pdf"),
                                   helper=started)
    assert "handout.pdf" in alone and any(name.startswith("figures/") for name in alone)
    assert sorted(shared) == sorted(alone)
    for name in alone:
        assert shared[name] == alone[name], name


def test_a_student_copy_withholds_the_same_numbers_in_the_helper(
    started: helper.Helper,
) -> None:
    full = with_exercises(make_results(), [
        {"id": "stable-rate", "prompt": "From H, 2/λ_max?",
         "answer": "diagnostics.max_stable_lr", "tolerance": 0.001, "points": 1}])
    results = student_view(full)  # what a student copy is rendered from: no state to carry
    assert results.is_student_copy and full.diagnostics.eigenvalues is not None
    alone = render_report(results, None, {"html"})
    shared = render_report(results, None, {"html"}, helper=started)
    assert shared == alone
    lmax = f"{full.diagnostics.eigenvalues[1]:.3f}"
    assert lmax not in shared["index.html"].decode()


def test_a_dead_helper_leaves_the_work_to_the_build() -> None:
    config = config_for()
    alone = handout_without_a_helper()  # its HTML and figures: the same with a PDF or not
    with helper.Helper(with_pdf=False) as dying:
        with pytest.raises(BrokenExecutor):
            dying.submit(os._exit, 1).result()
        files = pipeline.report_files(config, pipeline.compute(config), ("html",),
                                      helper=dying)
    assert sorted(files) == sorted(set(alone) - {"handout.pdf"})
    for name in files:
        if name != "manifest.json":  # which lists the PDF too
            assert files[name] == alone[name], name


CTRL_C = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from reportgen import cli
    from reportgen.render import report

    ready = Path(sys.argv[1])
    render = report.render_report

    def parked(*args, helper=None, **kwargs):
        assert helper is not None, "the build started no helper"
        ready.write_text(str(helper.submit(__import__("os").getpid).result()))
        time.sleep(60)
        return render(*args, helper=helper, **kwargs)

    report.render_report = parked
    sys.exit(cli.main(sys.argv[2:]))
""")


def _build_parked_in_render(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A ``reportgen build`` (its own process group) parked in rendering, and its helper's
    pid. An empty cache, so that it computes and starts a helper; HTML only and a coarse
    surface, so that it gets there sooner."""
    ready = tmp_path / "ready"
    env = dict(os.environ, REPORTGEN_CACHE_DIR=str(tmp_path / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C, str(ready), "build", str(SHIPPED / "source-notebook.toml"),
         "--set", "surface.resolution=20", "--format", "html",
         "--out", str(tmp_path / "report"), "--jobs", "2", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not ready.exists() or not ready.read_text():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return process, int(ready.read_text())


def _is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, ended but not yet reaped, is not)."""
    if Path("/proc/self/stat").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_to_the_process_group_stops_build_and_helper_without_a_traceback(
    tmp_path: Path,
) -> None:
    process, helper_pid = _build_parked_in_render(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=120)

    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("reportgen: interrupted (SIGINT)")
    assert not (tmp_path / "report").exists()
    assert not _is_running(helper_pid)  # the helper has ended too


def test_a_build_killed_outright_takes_its_helper_with_it(tmp_path: Path) -> None:
    """A helper waits on a queue whose writing end it holds itself: without a watch on
    its parent it outlived a SIGKILLed build for ever."""
    process, helper_pid = _build_parked_in_render(tmp_path)
    assert _is_running(helper_pid)
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while _is_running(helper_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _is_running(helper_pid)


def test_fewer_than_one_job_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import reportgen
    from reportgen import cli
    from reportgen.config import ConfigError

    out = tmp_path / "out"
    assert cli.main(["build", "--jobs", "0", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "reportgen: error: --jobs: expected a whole number >= 1, got 0"
    with pytest.raises(ConfigError, match=r"^jobs=-1: expected a whole number >= 1, got -1$"):
        reportgen.build(reportgen.load_config(), out=out, jobs=-1)
    assert not out.exists()


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their start times (so that a pid used
    again later is not taken for one of them)."""
    found = {}
    for folder in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(folder.name))
        if fields is not None and int(fields[1]) == pid:
            found[int(folder.name)] = fields[19]
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_build_reaps_every_process_it_started_before_it_exits(tmp_path: Path) -> None:
    """The helper's resource tracker outlived the build and was reaped by PID 1, seen
    meanwhile as a zombie (issue 22, item 18)."""
    env = dict(os.environ, REPORTGEN_CACHE_DIR=str(tmp_path / "cache"))
    build = start_reportgen("build", "--set", "surface.resolution=20", "--format", "html",
                            "--out", tmp_path / "report", "--jobs", "2", "-q", env=env)
    started: dict[int, str] = {}
    while build.poll() is None:  # the helper and the tracker live as long as the build
        started.update(_children(build.pid))
        time.sleep(0.05)
    assert build.stderr is not None
    err = build.stderr.read()
    assert build.returncode == 0, err
    assert len(started) >= 2  # the helper, and multiprocessing's resource tracker
    left = [pid for pid, since in started.items() if (_stat(pid) or [""] * 20)[19] == since]
    assert left == [], [(_stat(pid) or [])[:2] for pid in left]  # e.g. ['Z', '1']
    assert err == ""  # and no note about leaked semaphores
