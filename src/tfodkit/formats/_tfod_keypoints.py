"""Keypoints in TF OD API records, in the layout ``create_coco_tf_record.py`` writes and ``tf_example_decoder`` reads.

Every object has the same number K of points (the decoder reshapes to ``[-1, num_keypoints, 2]``), the most
points a label of the label map names (or an object has):
``keypoint/x`` and ``keypoint/y`` are K normalized values per object, flattened over the objects; ``visibility``
K COCO visibilities per object; ``text`` K point names per object; ``num`` one value per object, its labeled
points (COCO's ``num_keypoints``). An object without keypoints, or with fewer than K, is padded with unlabeled
points (0, 0, visibility 0), as ``create_coco_tf_record.py`` pads one.

Example:
    >>> from tfodkit.model import LabelMap, Objects
    >>> objects = Objects.from_boxes([[0, 0, 10, 10]], [1], keypoints=[np.array([[5.0, 2.5, 2.0]])])
    >>> features = keypoint_features(objects, LabelMap.from_names(["person"]), 10, 10)
    >>> features["image/object/keypoint/x"].tolist(), features["image/object/keypoint/num"].tolist()
    ([0.5], [1])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tfodkit import keypoints
from tfodkit.errors import FormatError
from tfodkit.formats.tfod_schema import KEYPOINT_NUM, KEYPOINT_TEXT, KEYPOINT_VISIBILITY, KEYPOINT_X, KEYPOINT_Y
from tfodkit.model import LabelMap, Objects


def keypoint_features(objects: Objects, label_map: LabelMap, width: int, height: int) -> dict[str, Any]:
    """The keypoint features of ``objects`` (none when neither the labels nor the objects have points)."""
    column = keypoints.column(objects)
    # K is the same in every record of the dataset (the decoder's num_keypoints): the most points a label names;
    # as create_coco_tf_record.py does, every object gets K points, an object without any K unlabeled ones
    size = max([label_map.max_keypoints] + [len(points) for points in column if points is not None])
    if not size or not len(objects):
        return {}
    rows = np.zeros((len(objects), size, 3), dtype=np.float64)
    names: list[bytes] = []
    for index, (points, label_id) in enumerate(zip(column, objects.label_ids.tolist(), strict=True)):
        if points is not None:
            rows[index, : len(points)] = points
        names.extend(name.encode("utf-8") for name in keypoints.names_for(label_map, label_id, size))
    return {
        KEYPOINT_X: (rows[:, :, 0] / width).astype(np.float32).reshape(-1),
        KEYPOINT_Y: (rows[:, :, 1] / height).astype(np.float32).reshape(-1),
        KEYPOINT_NUM: (rows[:, :, 2] > 0).sum(axis=1).astype(np.int64),
        KEYPOINT_VISIBILITY: rows[:, :, 2].astype(np.int64).reshape(-1),
        KEYPOINT_TEXT: names,
    }


def read_keypoints(
    features: Mapping[str, Any],
    label_ids: np.ndarray,
    width: int,
    height: int,
    label_map: LabelMap,
    fail: Callable[[str], FormatError],
) -> list[np.ndarray | None] | None:
    """The keypoints column of a record's objects, or None when the record has no keypoint keys.

    A point whose x or y is NaN (how the OD API marks a missing point) or whose visibility is 0 is unlabeled; an
    object with no labeled point has None. A label without point names takes them from ``keypoint/text``.
    """
    if KEYPOINT_X not in features and KEYPOINT_Y not in features:
        return None
    count = len(label_ids)
    x = _values(features, KEYPOINT_X, fail)
    y = _values(features, KEYPOINT_Y, fail)
    if len(x) != len(y):
        raise fail(f"{KEYPOINT_X} has {len(x)} values but {KEYPOINT_Y} has {len(y)}")
    if not count:
        if len(x):
            raise fail(f"{KEYPOINT_X} has {len(x)} values for no objects")
        return []
    if len(x) % count:
        raise fail(f"{KEYPOINT_X} has {len(x)} values, not the same number of points for each of {count} objects")
    size = len(x) // count
    if KEYPOINT_VISIBILITY in features:
        visibility = _values(features, KEYPOINT_VISIBILITY, fail)
        if len(visibility) != len(x):
            raise fail(f"{KEYPOINT_VISIBILITY} has {len(visibility)} values but {KEYPOINT_X} has {len(x)}")
        if not np.isin(visibility, (0, 1, 2)).all():
            raise fail(f"{KEYPOINT_VISIBILITY} holds {sorted(set(visibility.tolist()) - {0, 1, 2})}, not 0, 1 or 2")
    else:  # the OD API decoder's default: a point with finite coordinates is visible
        visibility = np.full(len(x), keypoints.VISIBLE, dtype=np.float64)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    visibility = np.where(missing, keypoints.NOT_LABELED, visibility)
    points = np.stack([np.where(missing, 0, x) * width, np.where(missing, 0, y) * height, visibility], axis=1)
    texts = features.get(KEYPOINT_TEXT) or []
    column: list[np.ndarray | None] = []
    for index, label_id in enumerate(label_ids.tolist()):
        rows = keypoints.as_points(points[index * size : (index + 1) * size])
        assert rows is not None
        if not (rows[:, 2] > 0).any():
            column.append(None)
            continue
        names = [_text(value, fail) for value in texts[index * size : (index + 1) * size]]
        keypoints.learn_names(label_map, label_id, _trimmed(names))
        known = len(label_map[label_id].keypoints) if label_id in label_map else 0
        if known and known < size and not (rows[known:, 2] > 0).any():
            rows = rows[:known]  # the padding a record of labels with more points gave this one
        column.append(rows)
    return column


def _trimmed(names: list[str]) -> list[str]:
    """The names without the trailing numbered padding names (``"18"``, ``"19"``, …) a writer added."""
    end = len(names)
    while end and names[end - 1] == str(end):
        end -= 1
    return names[:end] if end else names  # all numbered: the numbers are the names


def _values(features: Mapping[str, Any], key: str, fail: Callable[[str], FormatError]) -> np.ndarray:
    values = features.get(key)
    if values is None or (isinstance(values, list) and not values):
        return np.zeros(0, dtype=np.float64)
    if not isinstance(values, np.ndarray):
        raise fail(f"{key} must be a number list")
    return values.astype(np.float64)


def _text(value: Any, fail: Callable[[str], FormatError]) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise fail(f"{KEYPOINT_TEXT} is not UTF-8 text") from None
