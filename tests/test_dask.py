"""Batches on Dask when things go wrong (issue 22, items 7-9): a bad scheduler address, a
scheduler that is not there, a worker killed in the middle of a batch.

A real ``distributed`` scheduler and worker on loopback, started as ``dask scheduler`` and
``dask worker`` processes; the worker is killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import command

from reportgen import cli

distributed = pytest.importorskip("distributed")  # reportgen[dask]; the test extra has it

SMALL = """\
title = "A small study"
seed = 3

[data]
n = 40

[surface]
resolution = 20

[[runs]]
name = "Batch gradient descent"
learning_rate = 0.1
epochs = 6
init = [0.0, 0.0]

[matrix]
"runs.0.learning_rate" = [0.02, 0.5]
"""
VARIANTS = 2  # the first built before the only worker is lost, the second pending


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "study.toml").write_text(SMALL, encoding="utf-8")
    return tmp_path / "study.toml"


def _free_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nothing_written(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name != "study.toml")


# ---------------------------------------------------------------- 7 and 9: before any work


@pytest.mark.parametrize("address", ["foo://bar:1", "not an address", "inproc://x",
                                     "tls://127.0.0.1:1", "tcp://127.0.0.1:99999",
                                     "tcp://127.0.0.1", "tcp://user@127.0.0.1:1", ""])
def test_a_bad_scheduler_address_is_one_line_naming_scheduler(
    study: Path, address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["batch", str(study), "--executor", "dask", "--scheduler", address,
                     "--out", str(study.parent / "b")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("reportgen: error: --scheduler: expected ")
    assert _nothing_written(study.parent) == []


def test_an_unreachable_scheduler_is_found_before_any_work(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    code = cli.main(["batch", str(study), "--executor", "dask", "--scheduler", address,
                     "--out", str(study.parent / "out" / "b")])  # not quiet: no stage shown
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"reportgen: error: --scheduler: cannot reach a Dask scheduler at "
                   f"{address} (connection refused)\n")
    assert elapsed < 5  # was 20 s, after computing every variant
    assert _nothing_written(study.parent) == []  # no batch.json, no cache, no parent folder


# ---------------------------------------------------------------- 8: a lost worker


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler on loopback and a way to start workers; everything ends afterwards."""
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    record = tmp_path / "scheduler.json"
    processes = [subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(record)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not (record.exists() and record.read_text().strip()):
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        yield json.loads(record.read_text())["address"], processes
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait(30)


def _worker(address: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
         "--no-nanny", "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_a_lost_worker_stops_the_batch_and_a_rerun_resumes(
    study: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    address, processes = cluster
    worker = _worker(address)
    processes.append(worker)
    out = study.parent / "b"
    args = command("batch", study, "--format", "html", "--executor", "dask", "--scheduler",
                   address, "--out", out)
    batch = subprocess.Popen([*args, "--worker-timeout", "3"], stderr=subprocess.PIPE,
                             text=True, env=os.environ)
    assert batch.stderr is not None
    lines = []
    for line in batch.stderr:  # the first variant is written: kill the only worker
        lines.append(line)
        if f" 1/{VARIANTS} " in line:
            os.kill(worker.pid, signal.SIGKILL)
            killed = time.monotonic()
            break
    else:
        raise AssertionError(f"no variant was built: {lines}")
    rest = batch.stderr.read()
    code = batch.wait(120)
    assert time.monotonic() - killed < 60  # waited for ever before
    assert code == 1, rest
    assert "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith("reportgen: error: the Dask cluster had no worker for 3 s")
    assert "run the same command again to resume" in last
    record = json.loads((out / "batch.json").read_text())
    states = [row["status"] for row in record["variants"]]
    assert states.count("built") >= 1 and states.count("pending") >= 1, states
    assert record["complete"] is False
    for row in record["variants"]:  # what batch.json says is what the folder holds
        assert (out / row["id"] / "manifest.json").is_file() == (row["status"] == "built")

    processes.append(_worker(address))
    resumed = subprocess.run([*args, "-q"], capture_output=True, text=True, timeout=600,
                             env=os.environ)
    assert resumed.returncode == 0, resumed.stderr
    built = states.count("built")
    assert (f"{VARIANTS - built} built, {built} already there, 0 failed, of {VARIANTS} "
            "variants") in resumed.stderr
    record = json.loads((out / "batch.json").read_text())
    assert record["complete"] is True
    assert {row["status"] for row in record["variants"]} == {"built", "skipped"}
