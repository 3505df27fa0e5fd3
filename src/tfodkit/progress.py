"""Progress of long runs (``convert``, ``validate``, ``stats``, ``info``, ``preview``, ``diff``): the library says
how far it is, a progress bar (the CLI's, on a terminal) listens.

The work calls :func:`start` once with the total when it is known (records from ``.idx`` index files,
``Dataset.length`` for readers that count in their annotation pass) and :func:`advance` as it goes; with no
listener (the library, ``--json``, ``-q``, output not on a terminal) both do nothing.

Example:
    >>> seen = []
    >>> class Listener:
    ...     def start(self, total): seen.append(("total", total))
    ...     def advance(self, count=1): seen.append(("done", count))
    >>> with listening(Listener()):
    ...     start(2); advance(); advance()
    >>> seen
    [('total', 2), ('done', 1), ('done', 1)]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Protocol


class Listener(Protocol):
    """What listens to progress: a progress bar."""

    def start(self, total: int | None) -> None: ...

    def advance(self, count: int = 1) -> None: ...


_listener: ContextVar[Listener | None] = ContextVar("tfodkit_progress", default=None)


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the progress of the work inside the ``with`` block to ``listener`` (None: to nobody)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def start(total: int | None) -> None:
    """The work begins: ``total`` steps (records or items), None when unknown."""
    listener = _listener.get()
    if listener is not None:
        listener.start(total)


def advance(count: int = 1) -> None:
    """``count`` more steps are done."""
    listener = _listener.get()
    if listener is not None and count:
        listener.advance(count)


def indexed_records(paths: Iterable[str | None]) -> int | None:
    """The number of records of the given record files, from their ``.idx`` files (one line a record), or None
    when a file has no index (counting would mean reading it all). Only looked at when someone listens."""
    if _listener.get() is None:
        return None
    from tfodkit.index import index_path_for

    total = 0
    for path in paths:
        if path is None or "://" in path:
            return None
        index = index_path_for(path)
        if not os.path.isfile(index):
            return None
        with open(index, "rb") as lines:
            total += sum(1 for line in lines if line.strip())
    return total


def total_of(length: int | None, source: str, format_name: str) -> int | None:
    """The number of items a read of ``source`` will give: ``length`` (``Dataset.length``) when the reader
    knows it, else the records of indexed record files; None when neither tells. Only looked at when someone
    listens."""
    if length is not None or _listener.get() is None:
        return length
    if format_name not in ("tfrecord", "cvat-tfrecord") or str(source).lower().endswith(".zip"):
        return None
    from tfodkit.errors import TfodError
    from tfodkit.formats.tfod_files import record_files

    try:
        paths = [path for _, files in record_files(str(source)) for path in files]
    except TfodError:
        return None
    return indexed_records(paths)
