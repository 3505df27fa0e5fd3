"""Keypoints per object: the ``Objects.attributes["keypoints"]`` column and what every format needs of it.

A value is None (no keypoints) or a ``(K, 3)`` float64 array: x, y in absolute pixels and COCO's visibility
(0 not labeled, 1 labeled but not visible, 2 visible). An unlabeled point has x = y = 0. The names of the K
points and the skeleton between them live on the object's :class:`~tfodkit.model.Label`.

Example:
    >>> points = as_points([[10, 20, 2], [5, 5, 0]])
    >>> points.tolist(), box_around(points)
    ([[10.0, 20.0, 2.0], [0.0, 0.0, 0.0]], (10.0, 20.0, 10.0, 20.0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tfodkit._lazy import LazyModule
from tfodkit.errors import FormatError
from tfodkit.model import KEYPOINTS, LabelMap, Objects

if TYPE_CHECKING:
    import numpy as np

    from tfodkit.losses import Tally
else:
    np = LazyModule("numpy", globals(), "np")

NOT_LABELED, NOT_VISIBLE, VISIBLE = 0, 1, 2
KEYPOINTS_DROPPED = "keypoints_dropped"


def as_points(value: Any) -> np.ndarray | None:
    """``value`` (rows of x, y, visibility) as a ``(K, 3)`` float64 array, unlabeled points at 0, 0; None stays None.

    Raises :class:`FormatError` for a shape that is not K rows of 3, or a visibility not in 0, 1, 2.
    """
    if value is None:
        return None
    points = np.array(value, dtype=np.float64).reshape(-1, 3) if len(value) else np.zeros((0, 3))
    if points.ndim != 2 or points.shape[1] != 3:
        raise FormatError(f"keypoints must be rows of x, y, visibility, got shape {points.shape}")
    visibility = points[:, 2]
    if not np.isin(visibility, (NOT_LABELED, NOT_VISIBLE, VISIBLE)).all():
        raise FormatError(f"keypoint visibility must be 0, 1 or 2, got {sorted(set(visibility.tolist()))}")
    points[visibility == NOT_LABELED, :2] = 0.0
    return points


def column(objects: Objects) -> list[np.ndarray | None]:
    """The keypoints of each object (None for an object without any)."""
    if KEYPOINTS not in objects.attributes:
        return [None] * len(objects)
    return list(objects.attributes[KEYPOINTS])


def has_keypoints(objects: Objects) -> bool:
    """True when an object of ``objects`` has keypoints."""
    return any(points is not None for points in column(objects))


def labeled(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` whose visibility is not 0."""
    return points[points[:, 2] > NOT_LABELED]


def box_around(points: np.ndarray) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` around the labeled points (all zeros when none is labeled)."""
    marked = labeled(points)
    if not len(marked):
        return (0.0, 0.0, 0.0, 0.0)
    return (
        float(marked[:, 0].min()),
        float(marked[:, 1].min()),
        float(marked[:, 0].max()),
        float(marked[:, 1].max()),
    )


def names_for(label_map: LabelMap, label_id: int, count: int) -> list[str]:
    """The names of ``count`` points of label ``label_id``: the label's names, else ``"1"``, ``"2"``, …

    Example:
        >>> names_for(LabelMap.from_names(["person"]), 1, 2)
        ['1', '2']
    """
    known = label_map[label_id].keypoints if label_id in label_map else ()
    return [known[index] if index < len(known) else str(index + 1) for index in range(count)]


def learn_names(label_map: LabelMap, label_id: int, names: Sequence[str]) -> None:
    """Give a label without point names the ``names`` a file uses (the first object of the label to have them)."""
    if label_id in label_map and not label_map[label_id].keypoints and names:
        label_map.set_keypoints(label_id, list(names))


def count_dropped(tally: Tally, objects: Objects, target: str) -> None:
    """Count the objects whose keypoints ``target`` cannot hold (a ``keypoints_dropped`` loss)."""
    count = sum(1 for points in column(objects) if points is not None)
    tally.add(KEYPOINTS_DROPPED, f"objects' keypoints not written ({target} holds no keypoints)", count)


def change(first: np.ndarray | None, second: np.ndarray | None, tolerance: float) -> str:
    """What differs between two objects' keypoints ("" when nothing beyond ``tolerance`` pixels).

    Example:
        >>> change(as_points([[1, 1, 2], [5, 5, 2]]), as_points([[1, 1, 2], [5, 7, 1]]), 0.5)
        'point 2 moves by 2 px, visibility 2 -> 1'
    """
    if first is None and second is None:
        return ""
    if first is None or second is None:
        return "keypoints only in " + ("B" if first is None else "A")
    if len(first) != len(second):
        return f"{len(first)} points -> {len(second)}"
    details = []
    for index, (a, b) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        parts = []
        shift = max(abs(a[0] - b[0]), abs(a[1] - b[1]))
        if shift > tolerance and a[2] and b[2]:
            parts.append(f"moves by {shift:.4g} px")
        if a[2] != b[2]:
            parts.append(f"visibility {int(a[2])} -> {int(b[2])}")
        if parts:
            details.append(f"point {index + 1} " + ", ".join(parts))
    return "; ".join(details)
