"""``python -m pyasm`` and the ``pyasm`` console command: the same command line as the Rust
binary, run in this process."""

import sys

from . import main as _run_cli


def main() -> None:
    sys.exit(_run_cli(sys.argv))


if __name__ == "__main__":
    main()
