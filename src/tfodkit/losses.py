"""What a conversion could not keep: counted per kind, said in the summary and in ``--json``'s ``losses``.

Readers, transforms and writers call :func:`report_loss` where the output will not hold something the input
had: a shape kind the target cannot hold, an attribute it drops, an annotation skipped by a rule, an image not
embedded or copied, a clipped box, an unlabeled object a format cannot write. Inside :func:`counting_losses`
(what :func:`tfodkit.convert` does) each report is added to the block's :class:`Losses`; with ``strict=True``
the first report raises :class:`~tfodkit.errors.LossError` instead, so the writer discards its output. Outside
any block a report is one :class:`~tfodkit.errors.TfodWarning`, so library users still hear of it.

Kinds are short stable names (``polygon_not_exported``, ``box_clipped``…): the keys of ``losses`` in ``--json``.
Report each kind once per pass with its total where that is easy (a reader counting as it goes may also report
one at a time: counts add up); the message is what a user reads after the count, with the flag that avoids the
loss when there is one.

Example:
    >>> with counting_losses() as losses:
    ...     report_loss("polygon_not_exported", 3, "polygons not exported; --masks polygons exports them as masks")
    ...     report_loss("polygon_not_exported", 1, "polygons not exported; --masks polygons exports them as masks")
    >>> dict(losses.counts), losses.lines()
    ({'polygon_not_exported': 4}, ['4 polygons not exported; --masks polygons exports them as masks'])
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from tfodkit.errors import LossError, TfodWarning


@dataclass
class Losses:
    """Losses of one pass over a dataset: a count and a message per kind."""

    strict: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, count: int, message: str) -> None:
        if count <= 0:
            return
        if self.strict:
            raise LossError(f"--strict: {count} {message}", kind=kind)
        self.counts[kind] += count
        self.messages.setdefault(kind, message)

    def clear(self) -> None:
        self.counts.clear()
        self.messages.clear()

    def lines(self) -> list[str]:
        """One line per kind, the largest count first: ``"4 polygons not exported; …"``."""
        return [f"{count} {self.messages[kind]}" for kind, count in self.counts.most_common()]

    def __bool__(self) -> bool:
        return bool(self.counts)


_LOSSES: ContextVar[Losses | None] = ContextVar("tfodkit_losses", default=None)


@contextlib.contextmanager
def counting_losses(*, strict: bool = False) -> Iterator[Losses]:
    """Within the block, :func:`report_loss` counts into the yielded :class:`Losses` (or raises, when strict)."""
    losses = Losses(strict=strict)
    token = _LOSSES.set(losses)
    try:
        yield losses
    finally:
        _LOSSES.reset(token)


def report_loss(kind: str, count: int, message: str) -> None:
    """Say that ``count`` things of ``kind`` are not in the output: counted, raised (strict) or warned once."""
    if count <= 0:
        return
    losses = _LOSSES.get()
    if losses is None:
        warnings.warn(f"{count} {message}", TfodWarning, stacklevel=3)
        return
    losses.add(kind, count, message)


def current() -> Losses | None:
    """The :class:`Losses` of the :func:`counting_losses` block we are in, or None."""
    return _LOSSES.get()
