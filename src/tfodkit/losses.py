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
import math
import warnings
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


T = TypeVar("T")

# Kinds whose count is objects a writer was handed and left out of its output entirely (not written as less):
# a conversion's summary subtracts them from the objects it counted on the way to the writer.
OBJECTS_LEFT_OUT = frozenset({"crowd_not_written", "polygon_not_exported"})

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


# ------------------------------------------------------------------------------------- writers' tallies
class Tally:
    """Losses a writer counts over one pass, reported together by :meth:`report` (before it commits).

    Example:
        >>> tally = Tally()
        >>> tally.add("polygon_as_box", "polygons written as boxes only", 2)
        >>> with counting_losses() as losses:
        ...     tally.report()
        >>> losses.lines()
        ['2 polygons written as boxes only']
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.messages: dict[str, str] = {}
        self.details: dict[str, dict[str, None]] = {}  # kind -> names listed after its message, in order met

    def add(self, kind: str, message: str, count: int = 1) -> None:
        if count > 0:
            self.counts[kind] += count
            self.messages.setdefault(kind, message)

    def report(self) -> None:
        """Report each kind counted (its total) and start over; strict mode raises here."""
        counts, messages, details = dict(self.counts), dict(self.messages), dict(self.details)
        self.counts.clear()
        self.messages.clear()
        self.details.clear()
        for kind, count in counts.items():
            names = ", ".join(details.get(kind, {}))
            report_loss(kind, count, f"{messages[kind]}: {names}" if names else messages[kind])


def tallied(items: Iterable[T], count: Callable[[T, Tally], None]) -> Iterator[T]:
    """``items`` unchanged, calling ``count(item, tally)`` on each and reporting the tally once they are all
    through: a writer iterates this instead of the dataset, so its losses are said before it commits.

    Example:
        >>> def count(item, tally):
        ...     tally.add("odd", "odd numbers not written", item % 2)
        >>> with counting_losses() as losses:
        ...     _ = list(tallied([1, 2, 3], count))
        >>> losses.lines()
        ['2 odd numbers not written']
    """
    tally = Tally()
    for item in items:
        count(item, tally)
        yield item
    tally.report()


def has_value(value: Any) -> bool:
    """True for an attribute value that says something: not None, False, 0, NaN, "" or VOC's "Unspecified".

    Example:
        >>> [has_value(value) for value in (None, False, 0, "", float("nan"), 1, "frontal", 0.5)]
        [False, False, False, False, False, True, True, True]
    """
    if value is None or value is False or (isinstance(value, str) and value in ("", "Unspecified")):
        return False  # VOC writes pose "Unspecified" for "no pose"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return not math.isnan(value) and value != 0
    try:
        return bool(value)
    except (TypeError, ValueError):  # an array
        return True


def count_dropped_attributes(
    tally: Tally, columns: Mapping[str, Any], kept: Container[str], target: str, *, skip: Container[int] = ()
) -> None:
    """Count the objects whose attribute columns ``target`` cannot hold carry a value (:func:`has_value`),
    one ``attribute_dropped`` loss naming the columns. ``skip`` are object indices not written at all."""
    for name, column in columns.items():
        if name in kept:
            continue
        if name == "keypoints":  # tfodkit.model.KEYPOINTS: a kind of its own, not an attribute value
            dropped = sum(1 for index, value in enumerate(column) if index not in skip and value is not None)
            tally.add("keypoints_dropped", f"objects' keypoints not written ({target} holds no keypoints)", dropped)
            continue
        count = sum(1 for index, value in enumerate(column) if index not in skip and has_value(value))
        if count:
            tally.add(
                "attribute_dropped", f"object attribute values not written ({target} has no place for them)", count
            )
            tally.details.setdefault("attribute_dropped", {})[name] = None


def count_shape_losses(tally: Tally, objects: Any, *, polygons: bool, masks: bool, target: str) -> None:
    """Count the shapes of ``objects`` (a :class:`tfodkit.model.Objects`) that a target holding polygons and/or
    masks (as said) keeps only as less: ``polygon_as_mask``, ``polygon_as_box``, ``mask_as_polygon`` (traced),
    ``mask_as_box``. Each object's shape is counted once, by its polygons when it has both.

    Example:
        >>> import numpy as np
        >>> from tfodkit.model import Objects
        >>> objects = Objects(boxes=[[0, 0, 2, 2]], label_ids=[1], polygons=[[np.array([[0, 0], [2, 0], [2, 2]])]])
        >>> tally = Tally()
        >>> count_shape_losses(tally, objects, polygons=False, masks=False, target="voc")
        >>> dict(tally.counts)
        {'polygon_as_box': 1}
    """
    for shape, mask in zip(objects.polygons, objects.masks, strict=True):
        if shape and not polygons:
            if masks and mask is not None:
                tally.add(
                    "polygon_as_mask", f"polygons kept as instance masks only ({target} stores no polygon points)"
                )
            elif masks:
                tally.add("polygon_as_box", "polygons written as boxes only (--masks polygons keeps them as masks)")
            else:
                tally.add("polygon_as_box", f"polygons written as boxes only ({target} holds no polygons)")
        elif mask is not None and not shape and not masks:
            if polygons:
                tally.add("mask_as_polygon", f"instance masks written as traced polygons ({target} holds no masks)")
            else:
                tally.add("mask_as_box", f"instance masks written as boxes only ({target} holds no masks)")


def count_image_losses(tally: Tally, item: Any, saved: bool) -> None:
    """Count an item whose image bytes the input had and the output does not (``save_images`` off)."""
    if not saved and item.image.has_bytes:
        tally.add("image_not_embedded", "images not embedded or copied (--save-images keeps them)")
