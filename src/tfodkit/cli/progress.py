"""The progress bar of long commands, on stderr when it is a terminal (never with ``--json`` or ``-q``).

One bar serves both ways the work reports: :mod:`tfodkit.progress` events (``start`` with the total when known,
``advance``) and the conversion pipeline's callback (called with the number of items done).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tfodkit import progress


class Bar:
    """A rich progress bar task: shows ``done`` of ``total`` (a pulsing bar while the total is unknown)."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task

    def start(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)

    def advance(self, count: int = 1) -> None:
        self._bar.advance(self._task, count)

    def __call__(self, done: int) -> None:  # the pipeline's ProgressCallback
        self._bar.update(self._task, completed=done)


def wanted(enabled: bool) -> bool:
    """True when a bar should be drawn: asked for (not --json, not -q) and stderr is a terminal."""
    return enabled and sys.stderr.isatty()


@contextmanager
def progress_bar(enabled: bool, description: str, unit: str = "records") -> Iterator[Bar | None]:
    """A bar named ``description`` counting ``unit`` while the block runs; it listens to
    :mod:`tfodkit.progress` events. Yields None (and draws nothing) when not :func:`wanted`."""
    if not wanted(enabled):
        with progress.listening(None):
            yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as rich_progress:
        bar = Bar(rich_progress, rich_progress.add_task(description, total=None))
        with progress.listening(bar):
            yield bar
