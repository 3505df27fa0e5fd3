"""Running the `tfod` command in-process from tests."""

from __future__ import annotations

from tfodkit.cli import main


def run(*arguments: str) -> int:
    """``tfod ARGUMENTS…`` in this process; returns its exit status (output goes to pytest's capture)."""
    try:
        main(list(arguments))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
