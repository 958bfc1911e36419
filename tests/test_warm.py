"""reportgen.render.warm: a rendering process made warm before its first handout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_warm_process_typesets_no_equation_again() -> None:
    # a fresh interpreter, as a batch worker is: after warming, asking for any equation
    # must not typeset it (typeset is replaced by something that cannot be called)
    code = ("from reportgen.render import mathtex, warm\n"
            "warm.renderer()\n"
            "mathtex.typeset = None\n"
            "print(len([mathtex.equation(name) for name in mathtex.EQUATIONS]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from reportgen.render import mathtex

    assert done.stdout.strip() == str(len(mathtex.EQUATIONS))


def test_the_batch_workers_warm_the_renderer(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"  # spawned workers import __main__ from a file
    script.write_text("import concurrent.futures\n"
            "from reportgen.course import batch\n"
            "def probe():\n"
            "    from reportgen.render import mathtex\n"
            "    mathtex.typeset = None\n"
            "    return len([mathtex.equation(name) for name in mathtex.EQUATIONS])\n"
            "if __name__ == '__main__':\n"
            "    with batch.start_pool(1) as pool:\n"
            "        print(pool.submit(probe).result())\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from reportgen.render import mathtex

    assert done.stdout.strip() == str(len(mathtex.EQUATIONS))
