"""What a conversion does with one bad item: stop (the default) or skip it, count it and go on.

Readers call :func:`skip_or_raise` where one item failed and the next one can still be read — a record
whose bytes are not an Example or whose lists disagree, one VOC XML file, one COCO image entry, one CVAT
``<image>``, one YOLO label file. Outside :func:`skipping_bad_items` (the default) it raises the error, so
nothing changes for library users; inside, it records the error and the reader moves to the next item.

Not skippable, by design: damage to a TFRecord's framing (``CorruptRecordError``: a bad length or CRC).
Records carry no sync marker, so the reader cannot know where the next record starts without scanning for
a plausible header — that is ``tfod repair``'s job, which also reports the byte ranges lost. Errors of the
whole input (no such file, a broken label map, an unsafe archive) and of the writer also stop the run.

Example:
    >>> from tfodkit.errors import FormatError
    >>> with skipping_bad_items() as skipped:
    ...     skip_or_raise(FormatError("bad box", path="a.tfrecord", record_index=3))
    >>> skipped.count, skipped.examples
    (1, ['a.tfrecord: record 3: bad box'])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from tfodkit.errors import CorruptRecordError, LossError, TfodError

MAX_EXAMPLES = 5  # error messages kept for the report; the count covers all


@dataclass
class SkippedItems:
    """Items skipped in one pass over a dataset: how many, and the first few errors in full."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, error: TfodError) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(str(error))

    def clear(self) -> None:
        self.count = 0
        self.examples.clear()


_SKIPPING: ContextVar[SkippedItems | None] = ContextVar("tfodkit_skipping", default=None)


@contextlib.contextmanager
def skipping_bad_items() -> Iterator[SkippedItems]:
    """Within the block, readers skip items that fail to read (see the module docstring) and count them here."""
    skipped = SkippedItems()
    token = _SKIPPING.set(skipped)
    try:
        yield skipped
    finally:
        _SKIPPING.reset(token)


def skip_or_raise(error: TfodError) -> None:
    """Raise ``error``, unless bad items are being skipped: then count it and return (the caller skips the item)."""
    skipped = _SKIPPING.get()
    if skipped is None or isinstance(error, (CorruptRecordError, LossError)):  # --strict stops: it is no bad item
        raise error
    skipped.add(error)


def current() -> SkippedItems | None:
    """The counter of the :func:`skipping_bad_items` block we are in, or None when errors stop the run."""
    return _SKIPPING.get()
