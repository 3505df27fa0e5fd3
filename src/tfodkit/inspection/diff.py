"""``tfod diff A B``: what differs between two datasets, in any formats — how a user proves a conversion lost
nothing.

Items are matched by id (the image name without extension). Within an item, objects are matched greedily by
IoU, best pairs first: first between objects of the same label (name, not id: ids differ across formats),
then, among the objects left, across labels (those are *relabelled*). A matched pair whose corners differ by
more than ``tolerance`` pixels is *moved*; matched pairs whose shared attributes (difficult, truncated,
occluded…) differ have *attributes changed*; a pair whose masks (or polygons) are not the same shape — one
side without, or pixel IoU below ``SAME_SHAPE_IOU`` (0.99) — has *masks changed*
(*polygons changed*); the objects left are *removed* (only in A) or *added* (only in
B). Images are compared by the SHA-256 of their bytes and by size.

Memory: A is indexed first (boxes, labels, masks as read — PNG bytes or their small source, pixels only while
compared — and a digest per item), then B streams past it.

Example:
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> labels = LabelMap.from_names(["cat", "dog"])
    >>> def item(box, label):
    ...     return Item("x", ImageRef("x.jpg", width=100, height=100), Objects.from_boxes([box], [label]))
    >>> a = Dataset([item([0, 0, 10, 10], 1)], labels)
    >>> b = Dataset([item([0, 0, 10, 11], 2)], labels)
    >>> report = diff_datasets(a, b)
    >>> dict(report.counts), report.identical
    ({'relabelled': 1, 'moved': 1}, False)
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tfodkit import keypoints, progress
from tfodkit.errors import FormatError
from tfodkit.model import KEYPOINTS, Dataset, Item, Mask

DEFAULT_IOU = 0.5
DEFAULT_TOLERANCE = 0.01  # pixels: float32 normalization of a 10,000-pixel side moves a corner by < 0.001
SAME_SHAPE_IOU = 0.99  # two masks or polygon sets of one object are the same shape at this pixel IoU or above
# Counted changes; each makes the datasets differ.
CHANGE_KINDS = (
    "only_in_a",
    "only_in_b",
    "removed",
    "added",
    "moved",
    "relabelled",
    "attributes_changed",
    "masks_changed",
    "polygons_changed",
    "keypoints_changed",
    "image_bytes_changed",
    "image_size_changed",
    "image_missing_in_a",
    "image_missing_in_b",
    "subset_changed",
)


@dataclass
class _ItemSummary:
    """What diff keeps of one item of A: no pixels, a digest of the image bytes."""

    subset: str
    size: tuple[int, int] | None
    boxes: np.ndarray
    labels: list[str]
    attributes: dict[str, list[Any]]
    masks: list[Mask | None]  # as read: PNG bytes or a lazy source (polygons, RLE), pixels only when compared
    polygons: list[list[np.ndarray]]
    digest: str | None


@dataclass(frozen=True)
class ObjectChange:
    """One object-level difference inside an item (indices are object positions in A and B)."""

    kind: str  # removed, added, moved, relabelled, attributes_changed, masks_changed
    index_a: int | None
    index_b: int | None
    label_a: str | None
    label_b: str | None
    box_a: tuple[float, ...] | None
    box_b: tuple[float, ...] | None
    iou: float | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index_a": self.index_a,
            "index_b": self.index_b,
            "label_a": self.label_a,
            "label_b": self.label_b,
            "box_a": None if self.box_a is None else [round(value, 4) for value in self.box_a],
            "box_b": None if self.box_b is None else [round(value, 4) for value in self.box_b],
            "iou": None if self.iou is None else round(self.iou, 6),
            "detail": self.detail,
        }


@dataclass
class ItemDiff:
    """The differences of one item present in both datasets."""

    id: str
    subset_a: str
    subset_b: str
    objects_a: int
    objects_b: int
    changes: list[ObjectChange] = field(default_factory=list)
    image_changes: list[str] = field(default_factory=list)  # kinds from CHANGE_KINDS
    detail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subset_a": self.subset_a,
            "subset_b": self.subset_b,
            "objects_a": self.objects_a,
            "objects_b": self.objects_b,
            "image": self.image_changes,
            "image_detail": self.detail,
            "objects": [change.as_dict() for change in self.changes],
        }


@dataclass
class DiffReport:
    """The difference of A and B; :meth:`as_dict` is the ``--json`` document."""

    a: str
    b: str
    format_a: str = ""
    format_b: str = ""
    items_a: int = 0
    items_b: int = 0
    objects_a: int = 0
    objects_b: int = 0
    matched_items: int = 0
    unchanged_objects: int = 0
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    changed_items: list[ItemDiff] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    duplicates_a: list[str] = field(default_factory=list)
    duplicates_b: list[str] = field(default_factory=list)
    labels_only_in_a: list[str] = field(default_factory=list)
    labels_only_in_b: list[str] = field(default_factory=list)
    iou_threshold: float = DEFAULT_IOU
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def identical(self) -> bool:
        return not any(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": {"path": self.a, "format": self.format_a, "items": self.items_a, "objects": self.objects_a},
            "b": {"path": self.b, "format": self.format_b, "items": self.items_b, "objects": self.objects_b},
            "identical": self.identical,
            "iou_threshold": self.iou_threshold,
            "tolerance_px": self.tolerance,
            "matched_items": self.matched_items,
            "unchanged_objects": self.unchanged_objects,
            "counts": {kind: self.counts[kind] for kind in CHANGE_KINDS},
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "duplicate_ids_a": self.duplicates_a,
            "duplicate_ids_b": self.duplicates_b,
            "labels_only_in_a": self.labels_only_in_a,
            "labels_only_in_b": self.labels_only_in_b,
            "changed_items": [item.as_dict() for item in self.changed_items],
        }


# ------------------------------------------------------------------------------------------ matching
def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """``(N, M)`` IoU of ``[xmin, ymin, xmax, ymax]`` boxes (0 where a union is empty).

    Example:
        >>> iou_matrix(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [0, 0, 2, 2]])).round(3).tolist()
        [[0.333, 1.0]]
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    intersection = width * height
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area_a + area_b - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, intersection / union, 0.0)
    # Two identical empty boxes are the same object.
    same = np.all(a == b, axis=-1)
    return np.where(same, 1.0, np.nan_to_num(iou))


def match_objects(
    boxes_a: np.ndarray, labels_a: list[str], boxes_b: np.ndarray, labels_b: list[str], threshold: float = DEFAULT_IOU
) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]], list[int], list[int]]:
    """Greedy matching, best IoU first: (same-label pairs, cross-label pairs, unmatched A, unmatched B).

    Pairs need IoU >= ``threshold``; identical boxes always match (IoU 1).

    Example:
        >>> match_objects(np.array([[0, 0, 2, 2], [5, 5, 6, 6]]), ["a", "a"], np.array([[0, 0, 2, 2]]), ["b"])
        ([], [(0, 0, 1.0)], [1], [])
    """
    iou = iou_matrix(boxes_a, boxes_b) if len(boxes_a) and len(boxes_b) else np.zeros((len(boxes_a), len(boxes_b)))
    free_a = set(range(len(boxes_a)))
    free_b = set(range(len(boxes_b)))
    names_a = np.array(labels_a, dtype=object)
    names_b = np.array(labels_b, dtype=object)
    same_label = names_a[:, None] == names_b[None, :] if len(boxes_a) and len(boxes_b) else np.zeros(iou.shape, bool)
    passes = []
    for allowed in (same_label, ~same_label):
        rows, columns = np.nonzero(allowed & (iou >= threshold))
        order = sorted(zip((-iou[rows, columns]).tolist(), rows.tolist(), columns.tolist(), strict=True))
        pairs = []
        for negative_iou, row, column in order:
            if row in free_a and column in free_b:
                free_a.discard(row)
                free_b.discard(column)
                pairs.append((row, column, -negative_iou))
        passes.append(sorted(pairs))
    return passes[0], passes[1], sorted(free_a), sorted(free_b)


# ------------------------------------------------------------------------------------------ datasets
def _digest(item: Item, compare_images: bool) -> str | None:
    if not compare_images or not item.image.has_bytes:
        return None
    try:
        return hashlib.sha256(item.image.read()).hexdigest()
    except FormatError:
        return None  # an image that cannot be read counts as missing


def _summary(item: Item, dataset: Dataset, compare_images: bool) -> _ItemSummary:
    objects = item.objects
    labels = [dataset.label_map.name_of(label_id) or f"label_{label_id}" for label_id in objects.label_ids.tolist()]
    return _ItemSummary(
        item.subset,
        item.image.known_size,
        objects.boxes.copy(),
        labels,
        {name: objects.attribute(name) for name in objects.attributes},
        list(objects.masks),
        [list(polygons) for polygons in objects.polygons],
        _digest(item, compare_images),
    )


def _box(boxes: np.ndarray, index: int) -> tuple[float, ...]:
    return tuple(float(value) for value in boxes[index])


def _values_differ(first: Any, second: Any) -> bool:
    if first is None or second is None:
        return False  # a value one side does not have is not a change of value
    if isinstance(first, float) or isinstance(second, float):
        try:
            return not math.isclose(float(first), float(second), rel_tol=1e-6, abs_tol=1e-6)
        except (TypeError, ValueError):
            return str(first) != str(second)
    if isinstance(first, (bool, int, np.integer)) and isinstance(second, (bool, int, np.integer)):
        return int(first) != int(second)
    return str(first) != str(second)


def shape_iou(first: np.ndarray, second: np.ndarray) -> float:
    """Pixel IoU of two boolean masks of one size (1.0 when both are empty).

    Example:
        >>> shape_iou(np.eye(2, dtype=bool), np.ones((2, 2), dtype=bool))
        0.5
    """
    union = np.count_nonzero(first | second)
    return 1.0 if union == 0 else float(np.count_nonzero(first & second) / union)


def _mask_change(first: Mask | None, second: Mask | None) -> str:
    """Why two masks of one object differ ("" when they do not): one missing, other sizes, IoU below
    :data:`SAME_SHAPE_IOU`."""
    if first is None and second is None:
        return ""
    if first is None or second is None:
        return "mask " + ("lost" if second is None else "added")
    if first.shape != second.shape:
        return f"mask size {first.shape} -> {second.shape}"
    iou = shape_iou(first.array, second.array)
    return f"mask pixels differ (IoU {iou:.4f})" if iou < SAME_SHAPE_IOU else ""


def _polygon_change(
    first: list[np.ndarray], second: list[np.ndarray], size: tuple[int, int] | None, tolerance: float
) -> str:
    """Why two polygon sets of one object differ ("" when they do not): one missing, else points that move
    more than ``tolerance`` and cover pixels at IoU below :data:`SAME_SHAPE_IOU`."""
    if not first and not second:
        return ""
    if not first or not second:
        return "polygons " + ("lost" if not second else "added")
    points_a = [np.asarray(polygon, dtype=np.float64).reshape(-1, 2) for polygon in first]
    points_b = [np.asarray(polygon, dtype=np.float64).reshape(-1, 2) for polygon in second]
    if len(points_a) == len(points_b) and all(
        pa.shape == pb.shape and np.allclose(pa, pb, atol=tolerance, rtol=0)
        for pa, pb in zip(points_a, points_b, strict=True)
    ):
        return ""
    if size is None:
        return "polygon points differ"
    from tfodkit.masks.raster import polygons_to_array

    width, height = size
    iou = shape_iou(polygons_to_array(points_a, height, width), polygons_to_array(points_b, height, width))
    return f"polygon pixels differ (IoU {iou:.4f})" if iou < SAME_SHAPE_IOU else ""


def compare_items(
    key: str, a: _ItemSummary, b: _ItemSummary, *, threshold: float, tolerance: float, compare_subsets: bool
) -> tuple[ItemDiff, int]:
    """The differences of one item, and how many of its objects are unchanged."""
    result = ItemDiff(key, a.subset, b.subset, len(a.labels), len(b.labels))
    if compare_subsets and a.subset != b.subset:
        result.image_changes.append("subset_changed")
        result.detail.append(f"subset {a.subset!r} -> {b.subset!r}")
    if a.size is not None and b.size is not None and a.size != b.size:
        result.image_changes.append("image_size_changed")
        result.detail.append(f"size {a.size[0]}x{a.size[1]} -> {b.size[0]}x{b.size[1]}")
    if a.digest is not None and b.digest is not None and a.digest != b.digest:
        result.image_changes.append("image_bytes_changed")
        result.detail.append(f"sha256 {a.digest[:12]}… -> {b.digest[:12]}…")
    elif (a.digest is None) != (b.digest is None):
        result.image_changes.append("image_missing_in_a" if a.digest is None else "image_missing_in_b")
    same, relabelled, removed, added = match_objects(a.boxes, a.labels, b.boxes, b.labels, threshold)
    unchanged = 0
    shared_attributes = sorted(set(a.attributes) & set(b.attributes) - {KEYPOINTS})  # keypoints: compared apart
    points_a, points_b = a.attributes.get(KEYPOINTS), b.attributes.get(KEYPOINTS)
    for index_a, index_b, iou in [*same, *relabelled]:
        box_a, box_b = _box(a.boxes, index_a), _box(b.boxes, index_b)
        changed = False
        # Every change of this pair names the same two objects: a template, each change a copy with its kind.
        pair = ObjectChange("", index_a, index_b, a.labels[index_a], b.labels[index_b], box_a, box_b, iou)
        if a.labels[index_a] != b.labels[index_b]:
            detail = f"{a.labels[index_a]!r} -> {b.labels[index_b]!r}"
            result.changes.append(replace(pair, kind="relabelled", detail=detail))
            changed = True
        shift = max(abs(first - second) for first, second in zip(box_a, box_b, strict=True))
        if shift > tolerance:
            result.changes.append(replace(pair, kind="moved", detail=f"corners move by up to {shift:.4g} px"))
            changed = True
        differing = [
            name
            for name in shared_attributes
            if _values_differ(a.attributes[name][index_a], b.attributes[name][index_b])
        ]
        if differing:
            detail = ", ".join(
                f"{name}: {a.attributes[name][index_a]!r} -> {b.attributes[name][index_b]!r}" for name in differing
            )
            result.changes.append(replace(pair, kind="attributes_changed", detail=detail))
            changed = True
        mask_change = _mask_change(a.masks[index_a], b.masks[index_b])
        if mask_change:
            result.changes.append(replace(pair, kind="masks_changed", detail=mask_change))
            changed = True
        size = a.size or b.size
        polygon_change = _polygon_change(a.polygons[index_a], b.polygons[index_b], size, tolerance)
        if polygon_change:
            result.changes.append(replace(pair, kind="polygons_changed", detail=polygon_change))
            changed = True
        keypoint_change = keypoints.change(
            None if points_a is None else points_a[index_a], None if points_b is None else points_b[index_b], tolerance
        )
        if keypoint_change:
            result.changes.append(replace(pair, kind="keypoints_changed", detail=keypoint_change))
            changed = True
        unchanged += not changed
    for index in removed:
        result.changes.append(ObjectChange("removed", index, None, a.labels[index], None, _box(a.boxes, index), None))
    for index in added:
        result.changes.append(ObjectChange("added", None, index, None, b.labels[index], None, _box(b.boxes, index)))
    return result, unchanged


def diff_datasets(
    a: Dataset,
    b: Dataset,
    *,
    iou_threshold: float = DEFAULT_IOU,
    tolerance: float = DEFAULT_TOLERANCE,
    compare_images: bool = True,
    compare_subsets: bool = False,
    name_a: str = "A",
    name_b: str = "B",
    max_items: int = 0,
) -> DiffReport:
    """Compare two datasets item by item. ``max_items`` bounds the changed items kept in full (0: all);
    every change is counted."""
    report = DiffReport(name_a, name_b, iou_threshold=iou_threshold, tolerance=tolerance)
    index: dict[str, _ItemSummary] = {}
    for item in a:
        progress.advance()
        report.items_a += 1
        report.objects_a += len(item.objects)
        if item.id in index:
            report.duplicates_a.append(item.id)
            continue
        index[item.id] = _summary(item, a, compare_images)
    seen_b: set[str] = set()
    for item in b:
        progress.advance()
        report.items_b += 1
        report.objects_b += len(item.objects)
        if item.id in seen_b:
            report.duplicates_b.append(item.id)
            continue
        seen_b.add(item.id)
        summary_a = index.pop(item.id, None)
        if summary_a is None:
            report.only_in_b.append(item.id)
            continue
        report.matched_items += 1
        result, unchanged = compare_items(
            item.id,
            summary_a,
            _summary(item, b, compare_images),
            threshold=iou_threshold,
            tolerance=tolerance,
            compare_subsets=compare_subsets,
        )
        report.unchanged_objects += unchanged
        for change in result.changes:
            report.counts[change.kind] += 1
        for kind in result.image_changes:
            report.counts[kind] += 1
        if result.changes or result.image_changes:
            if not max_items or len(report.changed_items) < max_items:
                report.changed_items.append(result)
    report.only_in_a = sorted(index)
    report.only_in_b.sort()
    report.counts["only_in_a"] += len(report.only_in_a)
    report.counts["only_in_b"] += len(report.only_in_b)
    report.counts += Counter()  # drop zero counts
    names_a, names_b = set(a.label_map.names), set(b.label_map.names)
    report.labels_only_in_a = sorted(names_a - names_b)
    report.labels_only_in_b = sorted(names_b - names_a)
    return report


def diff(
    path_a: str,
    path_b: str,
    *,
    format_a: str | None = None,
    format_b: str | None = None,
    options_a: dict[str, Any] | None = None,
    options_b: dict[str, Any] | None = None,
    **settings: Any,
) -> DiffReport:
    """Compare the datasets at two paths (any readable formats; detected when not given).
    ``settings`` are :func:`diff_datasets`'s keyword arguments."""
    from tfodkit.formats import detect_format
    from tfodkit.pipeline import read_dataset

    format_a = format_a or detect_format(path_a)
    format_b = format_b or detect_format(path_b)
    dataset_a = read_dataset(path_a, format_a, **(options_a or {}))
    dataset_b = read_dataset(path_b, format_b, **(options_b or {}))
    totals = [
        progress.total_of(dataset_a.length, path_a, format_a),
        progress.total_of(dataset_b.length, path_b, format_b),
    ]
    progress.start(None if None in totals else sum(total or 0 for total in totals))  # A's items, then B's
    report = diff_datasets(dataset_a, dataset_b, name_a=str(path_a), name_b=str(path_b), **settings)
    report.format_a, report.format_b = format_a, format_b
    return report
