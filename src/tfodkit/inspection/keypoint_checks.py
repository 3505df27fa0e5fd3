"""Keypoint checks of one detection record (``tfod validate``): the layout the OD API decoder reshapes.

Every object has the same number K of points (x, y, visibility and text hold K values per object), ``num`` is the
number of labeled points of each object, and labeled points lie inside the image (x, y in [0, 1]).

Example:
    >>> features = {"image/object/keypoint/x": np.array([0.5, 1.5]), "image/object/keypoint/y": np.array([0.5, 0.5])}
    >>> [problem[3] for problem in check_keypoints(features, 1)]
    ['point 2 is at x 1.5, y 0.5, outside [0, 1]']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfodkit.formats import tfod_schema as tfod

Problem = tuple[str, str | None, int | None, str]


def check_keypoints(usable: dict[str, Any], count: int) -> list[Problem]:
    """The keypoint problems of a record with ``count`` objects (none when it has no keypoint keys)."""
    x, y = usable.get(tfod.KEYPOINT_X), usable.get(tfod.KEYPOINT_Y)
    if x is None and y is None:
        return []
    x = np.asarray(x if x is not None else [], dtype=np.float64)
    y = np.asarray(y if y is not None else [], dtype=np.float64)
    if len(x) != len(y):
        return [("keypoints", tfod.KEYPOINT_Y, None, f"has {len(y)} values but {tfod.KEYPOINT_X} has {len(x)}")]
    if (count == 0 and len(x)) or (count and len(x) % count):
        message = f"has {len(x)} values: not the same number of points for each of {count} objects"
        return [("keypoints", tfod.KEYPOINT_X, None, message)]
    size = len(x) // count if count else 0
    problems: list[Problem] = []
    for key in (tfod.KEYPOINT_VISIBILITY, tfod.KEYPOINT_TEXT):
        values = usable.get(key)
        if values is not None and len(values) not in (0, len(x)):
            problems.append(("keypoints", key, None, f"has {len(values)} values for {len(x)} points"))
    visibility = usable.get(tfod.KEYPOINT_VISIBILITY)
    labeled = np.isfinite(x) & np.isfinite(y)
    if visibility is not None and len(visibility) == len(x):
        labeled &= np.asarray(visibility) > 0
    outside = labeled & ((x < 0) | (x > 1) | (y < 0) | (y > 1))
    for point in np.flatnonzero(outside).tolist():
        index = point // size if size else None
        where = f"point {point % size + 1}" if size else f"point {point + 1}"
        problems.append(
            ("keypoints", tfod.KEYPOINT_X, index, f"{where} is at x {x[point]:g}, y {y[point]:g}, outside [0, 1]")
        )
    numbers = usable.get(tfod.KEYPOINT_NUM)
    if numbers is not None and len(numbers) == count and size:
        per_object = labeled.reshape(count, size).sum(axis=1)
        for index in np.flatnonzero(np.asarray(numbers) != per_object).tolist():
            message = f"is {int(numbers[index])} but the object has {int(per_object[index])} labeled points"
            problems.append(("keypoints", tfod.KEYPOINT_NUM, index, message))
    return problems
