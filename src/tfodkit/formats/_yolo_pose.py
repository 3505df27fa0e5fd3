"""YOLO pose (Ultralytics): ``kpt_shape: [K, 2|3]`` in ``data.yaml``; label lines ``cls cx cy w h x1 y1 v1 …``.

Every line of a pose dataset carries K points, normalized by the image size; with 3 values a point, the third is
COCO's visibility (0, 1, 2); with 2, a point at 0, 0 is unlabeled and any other is visible. YOLO names no points:
a pose dataset's labels get the names ``"1"``, ``"2"``, … (K of them).

Example:
    >>> parse_points([0.5, 0.5, 2, 0, 0, 0], (2, 3), 100, 50).tolist()
    [[50.0, 25.0, 2.0], [0.0, 0.0, 0.0]]
    >>> format_points(np.array([[50.0, 25.0, 2.0]]), 2, 100, 50, "{:g}".format)
    ['0.5', '0.5', '2', '0', '0', '0']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tfodkit import keypoints
from tfodkit.errors import FormatError
from tfodkit.model import LabelMap

PoseShape = tuple[int, int]  # K points, 2 or 3 values a point


def pose_shape(config: dict[str, Any], where: str) -> PoseShape | None:
    """``kpt_shape`` of a ``data.yaml`` as ``(K, D)``, or None when the dataset is not a pose dataset."""
    raw = config.get("kpt_shape")
    if raw is None:
        return None
    try:
        count, values = (int(part) for part in raw)
    except (TypeError, ValueError):
        raise FormatError(f"kpt_shape must be [points, 2 or 3], got {raw!r}", path=where) from None
    if count < 1 or values not in (2, 3):
        raise FormatError(f"kpt_shape must be [points, 2 or 3], got {raw!r}", path=where)
    return count, values


def name_points(label_map: LabelMap, shape: PoseShape | None) -> None:
    """Give every label of a pose dataset the point names ``"1"`` … ``"K"`` (YOLO names none)."""
    if shape is not None:
        for label in list(label_map):
            label_map.set_keypoints(label.id, [str(index + 1) for index in range(shape[0])])


def parse_points(values: Sequence[float], shape: PoseShape, width: int, height: int) -> np.ndarray:
    """The (K, 3) absolute keypoints of one label line's point values (already checked to be K * D of them)."""
    count, size = shape
    raw = np.array(values, dtype=np.float64).reshape(count, size)
    if size == 2:
        visibility = np.where((raw[:, 0] == 0) & (raw[:, 1] == 0), keypoints.NOT_LABELED, keypoints.VISIBLE)
    else:
        visibility = raw[:, 2]
    points = keypoints.as_points(np.column_stack([raw[:, 0] * width, raw[:, 1] * height, visibility]))
    assert points is not None
    return points


def split_pose_line(
    values: list[float], shape: PoseShape, width: int, height: int, where: str, line: int
) -> tuple[list[float], np.ndarray | None]:
    """A pose line's values as the box's four and its (K, 3) points (None when none is labeled)."""
    if len(values) != 4 + shape[0] * shape[1]:
        raise FormatError(
            f"expected 'class cx cy w h' and {shape[0]} points of {shape[1]} values (kpt_shape), "
            f"got {len(values) + 1} fields",
            path=where,
            line=line,
        )
    try:
        points = parse_points(values[4:], shape, width, height)
    except FormatError as error:
        raise FormatError(error.message, path=where, line=line) from None
    return values[:4], points if (points[:, 2] > 0).any() else None


def format_points(
    points: np.ndarray | None, count: int, width: int, height: int, number: Callable[[float], str]
) -> list[str]:
    """``x y v`` fields of ``count`` points (an object with fewer, or none, is padded with unlabeled ones)."""
    rows = np.zeros((count, 3))
    if points is not None:
        rows[: min(count, len(points))] = points[:count]
    fields: list[str] = []
    for x, y, visibility in rows.tolist():
        fields += [number(x / width), number(y / height), str(int(visibility))]
    return fields


def point_count(label_map: LabelMap) -> int:
    """K of a pose dataset written from ``label_map``: the most points a label names (0: not a pose dataset)."""
    return label_map.max_keypoints


def count_cut(points: Sequence[np.ndarray | None], count: int) -> int:
    """Objects with labeled points beyond the ``count`` a pose file holds."""
    return sum(1 for rows in points if rows is not None and (rows[count:, 2] > 0).any())
