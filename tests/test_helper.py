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
from results_fixture import make_results

from reportgen import helper
from reportgen.render.report import render_report

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "reports"


@pytest.fixture(scope="module")
def started() -> helper.Helper:
    with helper.Helper() as process:
        yield process


def test_the_helper_is_another_process(started: helper.Helper) -> None:
    assert started.submit(os.getpid).result() != os.getpid()


def test_figures_html_and_pdf_rendered_with_the_helper_are_the_same_bytes(
    started: helper.Helper,
) -> None:
    results = make_results()
    alone = render_report(results, None, {"html", "pdf"})
    shared = render_report(results, None, {"html", "pdf"}, helper=started)
    assert sorted(shared) == sorted(alone)
    for name in alone:
        assert shared[name] == alone[name], name


def test_a_student_copy_withholds_the_same_numbers_in_the_helper(
    started: helper.Helper,
) -> None:
    results = make_results()
    results["config"]["audience"] = "student"
    results["config"]["exercises"] = [
        {"id": "slope", "prompt": "The OLS slope?", "answer": "ols.theta.1",
         "tolerance": 0.001, "points": 1, "solution": "It is {{ answer|num(4) }}."}]
    alone = render_report(results, None, {"html"})
    shared = render_report(results, None, {"html"}, helper=started)
    assert shared == alone
    slope = f"{results['ols']['theta'][1]:.3f}"
    assert slope not in shared["index.html"].decode()


def test_a_dead_helper_leaves_the_work_to_the_build() -> None:
    results = make_results()
    alone = render_report(results, None, {"html"})
    with helper.Helper(with_pdf=False) as dying:
        with pytest.raises(BrokenExecutor):
            dying.submit(os._exit, 1).result()
        assert render_report(results, None, {"html"}, helper=dying) == alone


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


def test_ctrl_c_to_the_process_group_stops_build_and_helper_without_a_traceback(
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    env = dict(os.environ, REPORTGEN_CACHE_DIR=str(tmp_path / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C, str(ready), "build", str(SHIPPED / "source-notebook.toml"),
         "--out", str(tmp_path / "report"), "--jobs", "2", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not ready.exists() or not ready.read_text():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    helper_pid = int(ready.read_text())
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=120)

    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("reportgen: interrupted (SIGINT)")
    assert not (tmp_path / "report").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(helper_pid, 0)  # the helper has ended too
