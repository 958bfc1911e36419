"""``python -m reportgen``."""

from reportgen.cli import main

if __name__ == "__main__":  # spawned worker processes import this module: never run there
    raise SystemExit(main())
