"""``tfod stats``: what is in a dataset, in numbers — objects per label and subset, objects per image, box
sizes and aspect ratios (relative and in pixels), images without objects, mask coverage.

TFRecord inputs are read record by record and only the size, box, label and mask keys are decoded
(:class:`~tfodkit.example.partial.FeatureSelector`): image bytes are never copied or decoded, masks are
decoded only with ``masks=True``. Other formats are read through :func:`tfodkit.pipeline.read_dataset`.
Memory stays constant: boxes are binned per batch into fixed-bin histograms (:mod:`tfodkit.inspection.histogram`).

Example:
    >>> import tempfile, os
    >>> from tfodkit.formats import tfod
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tfrecord")
    >>> items = [Item("a", ImageRef("a.jpg", width=100, height=50), Objects.from_boxes([[0, 0, 10, 10]], [1]))]
    >>> tfod.write(Dataset(items, LabelMap.from_names(["cat"])), path, save_images=False)
    >>> report = compute_stats(path)
    >>> report.images, report.objects, dict(report.objects_per_label["cat"])
    (1, 1, {'train': 1})
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfodkit import keypoints, progress
from tfodkit.errors import FormatError, TfodError
from tfodkit.example.partial import FeatureSelector, varint_values
from tfodkit.formats import tfod_schema as tfod
from tfodkit.inspection.histogram import Histogram
from tfodkit.inspection.sources import RecordSource, find_label_map_for, is_record_input, record_sources, resolve_format
from tfodkit.model import Dataset, LabelMap, decode_png_mask, image_format_of
from tfodkit.parallel import ordered_map
from tfodkit.records import record_offsets
from tfodkit.storage import is_url

# Display bins (the fine bins of the histograms are much finer).
RELATIVE_EDGES = [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]
PIXEL_EDGES = [0, 8, 16, 32, 64, 128, 256, 512, 1024, 1 << 20]
ASPECT_EDGES = [0, 1 / 8, 1 / 4, 1 / 2, 1 / 1.25, 1.25, 2, 4, 8, 1 << 20]
OBJECTS_PER_IMAGE_BINS = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None)]
COCO_SMALL, COCO_MEDIUM = 32**2, 96**2  # COCO's object size categories, by pixel area
NO_LABEL = "(no label)"

_BATCH = 4096  # images whose boxes are binned together: numpy per batch, not per image
# The keys stats reads, each in the mode its schema kind asks for: int64 lists as packed varint bytes (decoded
# when needed), float lists (the boxes) as packed float32 bytes joined per batch, bytes lists as values.
_READ_KEYS = (tfod.WIDTH, tfod.HEIGHT, *tfod.BOX_KEYS, tfod.CLASS_LABEL, tfod.CLASS_TEXT)
_STATS_KEYS = tfod.keys_of_kind(_READ_KEYS, tfod.KIND_BYTES)
_INT_KEYS = tfod.keys_of_kind(_READ_KEYS, tfod.KIND_INT64)
_BOX_KEYS = tfod.keys_of_kind(_READ_KEYS, tfod.KIND_FLOAT)


def _fraction_histogram() -> Histogram:
    return Histogram.linear(0, 1, bins=1000)


def _pixel_histogram() -> Histogram:
    return Histogram.log2(1 / 16, 1 << 16)


@dataclass
class StatsReport:
    """Dataset statistics; :meth:`as_dict` is the ``--json`` document."""

    source: str
    format: str
    images: int = 0
    objects: int = 0
    images_per_subset: Counter[str] = field(default_factory=Counter)
    objects_per_subset: Counter[str] = field(default_factory=Counter)
    empty_images_per_subset: Counter[str] = field(default_factory=Counter)
    objects_per_label: dict[str, Counter[str]] = field(default_factory=dict)  # label -> subset -> objects
    objects_per_image: Counter[int] = field(default_factory=Counter)
    relative_width: Histogram = field(default_factory=_fraction_histogram)
    relative_height: Histogram = field(default_factory=_fraction_histogram)
    relative_area: Histogram = field(default_factory=_fraction_histogram)
    pixel_width: Histogram = field(default_factory=_pixel_histogram)
    pixel_height: Histogram = field(default_factory=_pixel_histogram)
    aspect_ratio: Histogram = field(default_factory=lambda: Histogram.log2(1 / 1024, 1024))
    size_categories: Counter[str] = field(default_factory=Counter)
    degenerate_boxes: int = 0  # width or height <= 0, or NaN: left out of the box distributions
    image_sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    image_formats: Counter[str] = field(default_factory=Counter)
    embedded_images: int = 0
    masked_objects: int = 0  # objects with a mask entry; with masks decoded, with a non-empty mask
    masks_decoded: bool = False
    mask_fraction: Histogram = field(default_factory=_fraction_histogram)
    mask_union: Histogram = field(default_factory=_fraction_histogram)
    label_map_labels: list[str] = field(default_factory=list)
    keypoint_objects: int = 0  # objects with at least one labeled keypoint
    visible_keypoints: Counter[str] = field(default_factory=Counter)  # point name -> visible points (v = 2)

    _HISTOGRAMS = (
        "relative_width",
        "relative_height",
        "relative_area",
        "pixel_width",
        "pixel_height",
        "aspect_ratio",
        "mask_fraction",
        "mask_union",
    )
    _COUNTERS = (
        "images_per_subset",
        "objects_per_subset",
        "empty_images_per_subset",
        "objects_per_image",
        "size_categories",
        "image_sizes",
        "image_formats",
        "visible_keypoints",
    )

    def merge(self, other: StatsReport) -> None:
        """Add the counts of ``other`` (statistics of another part of the same dataset)."""
        self.images += other.images
        self.objects += other.objects
        self.degenerate_boxes += other.degenerate_boxes
        self.embedded_images += other.embedded_images
        self.masked_objects += other.masked_objects
        self.keypoint_objects += other.keypoint_objects
        for name in self._COUNTERS:
            getattr(self, name).update(getattr(other, name))
        for name in self._HISTOGRAMS:
            getattr(self, name).merge(getattr(other, name))
        for label, per_subset in other.objects_per_label.items():
            self.objects_per_label.setdefault(label, Counter()).update(per_subset)

    @property
    def subsets(self) -> list[str]:
        return sorted(self.images_per_subset)

    def label_totals(self) -> list[tuple[str, int]]:
        """(label, objects) for every label — label-map labels without objects too — most common first."""
        totals = {name: sum(counts.values()) for name, counts in self.objects_per_label.items()}
        for name in self.label_map_labels:
            totals.setdefault(name, 0)
        return sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))

    def objects_per_image_bins(self) -> list[tuple[str, int]]:
        rows = []
        for low, high in OBJECTS_PER_IMAGE_BINS:
            count = sum(
                n
                for objects, n in self.objects_per_image.items()
                if objects >= low and (high is None or objects <= high)
            )
            label = str(low) if low == high else (f"{low}+" if high is None else f"{low}-{high}")
            rows.append((label, count))
        return rows

    def as_dict(self) -> dict[str, Any]:
        masks: dict[str, Any] = {"objects_with_masks": self.masked_objects, "decoded": self.masks_decoded}
        if self.masks_decoded:
            masks["mask_fraction_of_image"] = self.mask_fraction.summary(RELATIVE_EDGES)
            masks["image_coverage"] = self.mask_union.summary(RELATIVE_EDGES)
        return {
            "source": self.source,
            "format": self.format,
            "images": self.images,
            "objects": self.objects,
            "images_without_objects": sum(self.empty_images_per_subset.values()),
            "subsets": {
                subset: {
                    "images": self.images_per_subset[subset],
                    "objects": self.objects_per_subset[subset],
                    "images_without_objects": self.empty_images_per_subset[subset],
                }
                for subset in self.subsets
            },
            "labels": {
                name: {"total": total, "per_subset": dict(self.objects_per_label.get(name, {}))}
                for name, total in self.label_totals()
            },
            "objects_per_image": {str(count): images for count, images in sorted(self.objects_per_image.items())},
            "objects_per_image_bins": dict(self.objects_per_image_bins()),
            "boxes": {
                "relative_width": self.relative_width.summary(RELATIVE_EDGES),
                "relative_height": self.relative_height.summary(RELATIVE_EDGES),
                "relative_area": self.relative_area.summary(RELATIVE_EDGES),
                "pixel_width": self.pixel_width.summary(PIXEL_EDGES),
                "pixel_height": self.pixel_height.summary(PIXEL_EDGES),
                "aspect_ratio": self.aspect_ratio.summary(ASPECT_EDGES),
                "size_categories": {name: self.size_categories[name] for name in ("small", "medium", "large")},
                "degenerate": self.degenerate_boxes,
            },
            "image_files": {
                "sizes": [{"width": w, "height": h, "images": n} for (w, h), n in self.image_sizes.most_common(20)],
                "distinct_sizes": len(self.image_sizes),
                "formats": dict(self.image_formats),
                "embedded": self.embedded_images,
            },
            "masks": masks,
            "keypoints": {
                "objects_with_keypoints": self.keypoint_objects,
                "visible_points_per_name": dict(self.visible_keypoints.most_common()),
            },
        }

    def add_keypoints(self, visibility: np.ndarray, names: Sequence[Sequence[str]]) -> None:
        """Count objects' keypoints: ``visibility`` (N, K) COCO visibilities, ``names`` the K names per object."""
        if not visibility.size:
            return
        self.keypoint_objects += int((visibility > 0).any(axis=1).sum())
        for row, row_names in zip(visibility.tolist(), names, strict=True):
            self.visible_keypoints.update(name for value, name in zip(row, row_names, strict=False) if value == 2)


class _Accumulator:
    """Adds images to a report. Per image it only appends to lists; counting and binning run per batch
    (C-level ``Counter`` updates and numpy), which keeps the per-record cost of ``tfod stats`` small."""

    def __init__(self, report: StatsReport) -> None:
        self.report = report
        self.labels: dict[str, Counter[Any]] = {}  # subset -> label key (bytes text, int id or str) -> objects
        self._label_keys: dict[str, list[Any]] = {}  # subset -> label keys of the batch
        self._counts_by_subset: dict[str, list[int]] = {}  # subset -> objects per image of the batch
        self._columns: list[list[bytes]] = [[], [], [], []]  # normalized xmin, ymin, xmax, ymax as float32 bytes
        self._counts: list[int] = []  # objects per image, in image order (scales the boxes)
        self._widths: list[int] = []
        self._heights: list[int] = []
        self._formats: list[str] = []

    def add(
        self,
        subset: str,
        width: int,
        height: int,
        columns: Sequence[bytes] | None,
        labels: Sequence[Any],
        masked: int = 0,
        embedded: bool = False,
        image_format: str = "",
    ) -> None:
        """One image: ``columns`` are its normalized xmin, ymin, xmax, ymax as packed little-endian float32
        bytes; ``labels`` its N label keys. (Called once per record: kept to appends.)"""
        count = len(labels)
        counts = self._counts_by_subset.get(subset)
        if counts is None:
            counts = self._counts_by_subset[subset] = []
            self._label_keys[subset] = []
        counts.append(count)
        if count:
            self._label_keys[subset].extend(labels)
            xmin, ymin, xmax, ymax = self._columns
            xmin.append(columns[0])  # type: ignore[index]
            ymin.append(columns[1])  # type: ignore[index]
            xmax.append(columns[2])  # type: ignore[index]
            ymax.append(columns[3])  # type: ignore[index]
        self._counts.append(count)
        self._widths.append(width)
        self._heights.append(height)
        if image_format:
            self._formats.append(image_format)
        if embedded:
            self.report.embedded_images += 1
        if masked:
            self.report.masked_objects += masked
        if len(self._counts) >= _BATCH:
            self.flush()

    def merge(self, other: _Accumulator) -> None:
        """Add another (flushed) accumulator of the same dataset."""
        self.flush()
        self.report.merge(other.report)
        for subset, counter in other.labels.items():
            self.labels.setdefault(subset, Counter()).update(counter)

    def add_mask_coverage(self, arrays: list[np.ndarray]) -> None:
        if not arrays:
            return
        self.report.mask_fraction.add(np.array([array.mean() for array in arrays]))
        if len({array.shape for array in arrays}) == 1:
            self.report.mask_union.add(np.array([np.logical_or.reduce(arrays).mean()]))

    def flush(self) -> None:
        if not self._counts:
            return
        report = self.report
        for subset, subset_counts in self._counts_by_subset.items():
            if not subset_counts:
                continue
            per_image = np.bincount(np.array(subset_counts, dtype=np.int64))
            report.images_per_subset[subset] += len(subset_counts)
            report.objects_per_subset[subset] += int(np.dot(per_image, np.arange(len(per_image))))
            report.empty_images_per_subset[subset] += int(per_image[0])
            report.objects_per_image.update({n: int(images) for n, images in enumerate(per_image.tolist()) if images})
            self.labels.setdefault(subset, Counter()).update(self._label_keys[subset])
            subset_counts.clear()
            self._label_keys[subset].clear()
        counts = np.array(self._counts, dtype=np.int64)
        report.images += len(counts)
        report.objects += int(counts.sum())
        report.image_sizes.update(zip(self._widths, self._heights, strict=True))
        report.image_formats.update(self._formats)
        if self._columns[0]:
            xmin, ymin, xmax, ymax = (
                np.frombuffer(b"".join(column), "<f4").astype(np.float64) for column in self._columns
            )
            widths = np.repeat(np.array(self._widths, dtype=np.float64), counts)
            heights = np.repeat(np.array(self._heights, dtype=np.float64), counts)
            self._bin_boxes(xmax - xmin, ymax - ymin, widths, heights)
        for column in self._columns:
            column.clear()
        self._counts.clear()
        self._widths.clear()
        self._heights.clear()
        self._formats.clear()

    def _bin_boxes(
        self, relative_width: np.ndarray, relative_height: np.ndarray, widths: np.ndarray, heights: np.ndarray
    ) -> None:
        report = self.report
        valid = (relative_width > 0) & (relative_height > 0)  # False for NaN too
        report.degenerate_boxes += int((~valid).sum())
        relative_width, relative_height = relative_width[valid], relative_height[valid]
        pixel_width, pixel_height = relative_width * widths[valid], relative_height * heights[valid]
        report.relative_width.add(relative_width)
        report.relative_height.add(relative_height)
        report.relative_area.add(relative_width * relative_height)
        report.pixel_width.add(pixel_width)
        report.pixel_height.add(pixel_height)
        with np.errstate(divide="ignore", invalid="ignore"):
            report.aspect_ratio.add(pixel_width / pixel_height)
        area = pixel_width * pixel_height
        report.size_categories["small"] += int((area < COCO_SMALL).sum())
        report.size_categories["medium"] += int(((area >= COCO_SMALL) & (area < COCO_MEDIUM)).sum())
        report.size_categories["large"] += int((area >= COCO_MEDIUM).sum())

    def finish(self, label_map: LabelMap) -> None:
        """Flush the last batch and name the label keys: ``class/text`` bytes, or ids through the label map."""
        self.flush()
        for subset, counter in self.labels.items():
            for key, count in counter.items():
                if isinstance(key, bytes):
                    name = key.decode("utf-8", "replace")
                elif isinstance(key, int):
                    name = label_map.name_of(key) or f"label_{key}"
                else:
                    name = key
                self.report.objects_per_label.setdefault(name, Counter())[subset] += count


def compute_stats(
    path: str,
    format_name: str | None = None,
    *,
    masks: bool = False,
    label_map: str | None = None,
    images_dir: str | None = None,
    subset: str | None = None,
    workers: int = 1,
) -> StatsReport:
    """Statistics of the dataset at ``path`` (any readable format; ``format_name`` detected when None).

    ``masks=True`` decodes instance masks to measure their coverage (slower); otherwise masks are only
    counted. ``subset`` keeps one subset. ``workers`` > 1 splits TFRecord files into parts read by that many
    processes (the result is the same).
    """
    name = resolve_format(path, format_name)
    report = StatsReport(str(path), name, masks_decoded=masks)
    accumulator = _Accumulator(report)
    if is_record_input(path, name):
        found, _ = find_label_map_for(path, label_map)
        labels = found or LabelMap()
        sources = [source for source in record_sources(path) if subset is None or source.subset == subset]
        parts = _parts(sources, workers)
        progress.start(progress.indexed_records(source.path for source in sources))
        for part in ordered_map(
            functools.partial(_part_stats, masks=masks), parts, workers=min(workers, len(parts)), chunk_size=1
        ):
            before = report.images
            accumulator.merge(part)
            progress.advance(report.images - before)  # parts run in worker processes: counted as each ends
    else:
        from tfodkit.pipeline import read_dataset

        dataset = read_dataset(path, name, label_map=label_map, images_dir=images_dir)
        _add_items(accumulator, dataset, masks=masks, subset=subset)
        labels = dataset.label_map  # readers may add labels while reading: names are taken after the pass
    accumulator.finish(labels)
    report.label_map_labels = labels.names
    return report


# ------------------------------------------------------------------------------------------ TFRecord inputs
_MIN_SPLIT_BYTES = 64 << 20  # smaller files are not worth a split


@dataclass(frozen=True)
class _Part:
    """Records of one source: all of them, or (plain local files) those between two byte offsets."""

    source: RecordSource
    first_index: int = 0
    start: int = 0
    stop: int | None = None

    def records(self) -> Iterator[bytes]:
        if self.stop is None:
            return self.source.records()
        return self.source.records_between(self.start, self.stop)


def _parts(sources: list[RecordSource], workers: int) -> list[_Part]:
    """One part per source; with workers, large plain files are cut at record boundaries into ``workers`` parts."""
    parts = []
    for source in sources:
        if (
            workers <= 1
            or source.path is None
            or is_url(source.path)
            or source.size < _MIN_SPLIT_BYTES
            or source.compression()
        ):
            parts.append(_Part(source))
            continue
        offsets = [offset for offset, _ in record_offsets(source.path)]  # header to header, data skipped
        cuts = sorted(
            {bisect.bisect_left(offsets, source.size * k // workers) for k in range(1, workers)} - {0, len(offsets)}
        )
        bounds = [0, *cuts, len(offsets)]
        for first, last in itertools.pairwise(bounds):
            stop = offsets[last] if last < len(offsets) else source.size
            parts.append(_Part(source, first, offsets[first] if offsets else 0, stop))
    return parts


def _part_stats(part: _Part, *, masks: bool) -> _Accumulator:
    """The statistics of one part (run in a worker process when there are several)."""
    accumulator = _Accumulator(StatsReport(part.source.where, "", masks_decoded=masks))
    selector = FeatureSelector(
        _STATS_KEYS + (tfod.KEYPOINT_VISIBILITY, tfod.KEYPOINT_TEXT) + ((tfod.MASK,) if masks else ()),
        raw_float_keys=_BOX_KEYS,
        raw_int_keys=_INT_KEYS,
        head_keys=(tfod.ENCODED,) + (() if masks else (tfod.MASK,)),
    )
    formats: dict[bytes, str] = {}
    index = part.first_index
    try:
        for record in part.records():
            _add_record(accumulator, selector.decode(record), part.source.subset, formats, masks)
            index += 1
    except TfodError as error:
        offset = None if error.offset is None else error.offset + part.start
        raise type(error)(error.message, path=part.source.where, record_index=index, offset=offset) from None
    except (ValueError, TypeError, IndexError, KeyError) as error:
        raise FormatError(
            f"cannot read the record's sizes, boxes or labels ({error}); `tfod validate` tells more",
            path=part.source.where,
            record_index=index,
        ) from None
    accumulator.flush()
    return accumulator


def _first_int(values: Any) -> int:
    """The first number of a raw varint payload (or of a decoded list), 0 when there is none."""
    if type(values) is bytes and values:
        first = values[0]
        if first < 0x80:
            return first
        if len(values) > 1 and values[1] < 0x80:  # image sizes below 16384: two bytes
            return (first & 0x7F) | (values[1] << 7)
        return varint_values(values)[0]
    if values is None or len(values) == 0:
        return 0
    return int(values[0])


def _add_record(
    accumulator: _Accumulator, features: dict[str, Any], subset: str, formats: dict[bytes, str], masks: bool
) -> None:
    """Add one record's selected features (the per-record hot path of ``tfod stats``)."""
    get = features.get
    width = _first_int(get(tfod.WIDTH))
    height = _first_int(get(tfod.HEIGHT))
    encoded = get(tfod.ENCODED)
    head = encoded[0] if encoded else b""
    if (width <= 0 or height <= 0) and head:
        raise FormatError("image/width or image/height is missing; stats do not decode images to find the size")
    xmin, ymin, xmax, ymax = get(tfod.XMIN), get(tfod.YMIN), get(tfod.XMAX), get(tfod.YMAX)
    if not (type(xmin) is bytes and type(ymin) is bytes and type(xmax) is bytes and type(ymax) is bytes):
        xmin, ymin, xmax, ymax = (_float_bytes(column) for column in (xmin, ymin, xmax, ymax))
    size = len(xmin)
    count = size >> 2
    if count and not (len(ymin) == size and len(xmax) == size and len(ymax) == size):
        raise FormatError("the four bbox lists differ in length; `tfod validate` tells more")
    texts = get(tfod.CLASS_TEXT)
    if texts and len(texts) == count and all(texts):
        labels: Sequence[Any] = texts
    else:
        labels = _label_keys(texts or [], get(tfod.CLASS_LABEL), count)
    image_format = ""
    if head:
        key = head[:12]  # as much as the format signatures need
        image_format = formats.get(key)  # type: ignore[assignment]
        if image_format is None:
            image_format = image_format_of(key)
            if len(formats) < 1024:
                formats[key] = image_format
    mask_values = get(tfod.MASK)
    masked = 0
    if mask_values is not None and len(mask_values):
        arrays = _mask_arrays(mask_values, count, height, width) if masks else None
        if arrays is not None:
            masked = len(arrays)
            accumulator.add_mask_coverage(arrays)
        elif isinstance(mask_values, list):
            masked = sum(1 for png in mask_values if png)
        else:
            masked = count  # numerical masks, not decoded: every object has a plane
    accumulator.add(subset, width, height, (xmin, ymin, xmax, ymax), labels, masked, bool(head), image_format)
    _add_record_keypoints(accumulator.report, features, count)


def _add_record_keypoints(report: StatsReport, features: dict[str, Any], count: int) -> None:
    """Objects with keypoints and visible points per name of one record (``validate`` checks the layout)."""
    visibility = features.get(tfod.KEYPOINT_VISIBILITY)
    if visibility is None or not count or len(visibility) % count:
        return
    size = len(visibility) // count
    texts = features.get(tfod.KEYPOINT_TEXT) or []
    names = [
        [bytes(text).decode("utf-8", "replace") for text in texts[index * size : (index + 1) * size]]
        if len(texts) == len(visibility)
        else [str(point + 1) for point in range(size)]
        for index in range(count)
    ]
    report.add_keypoints(np.asarray(visibility, dtype=np.int64).reshape(count, size), names)


def _float_bytes(value: Any) -> bytes:
    """A box column as packed float32 bytes (the selector gives those for float lists; other types are coerced)."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return np.asarray(value, dtype="<f4").tobytes()  # an int64 list, or a bytes list (ValueError: a FormatError)


def _label_keys(texts: list[bytes], numbers: Any, count: int) -> list[Any]:
    """Per object: its ``class/text`` bytes, else its ``class/label`` id (named through the label map later)."""
    if isinstance(numbers, bytes):
        numbers = varint_values(numbers)
    keys: list[Any] = []
    for index in range(count):
        text = texts[index] if index < len(texts) else b""
        if text:
            keys.append(text)
        elif numbers is not None and index < len(numbers):
            keys.append(int(numbers[index]))
        else:
            keys.append(NO_LABEL)
    return keys


def _mask_arrays(values: Any, count: int, height: int, width: int) -> list[np.ndarray]:
    if isinstance(values, list):  # PNG_MASKS; an empty entry or an all-zero PNG means "no mask"
        arrays = [decode_png_mask(png) for png in values if png]
        return [array for array in arrays if array.any()]
    planes = np.asarray(values).reshape(count, height, width) != 0  # NUMERICAL_MASKS: N*H*W floats
    return [plane for plane in planes if plane.any()]


# ------------------------------------------------------------------------------------------ other formats
def _add_items(accumulator: _Accumulator, dataset: Dataset, *, masks: bool, subset: str | None) -> None:
    label_map = dataset.label_map
    progress.start(dataset.length if subset is None else None)
    for item in dataset:
        progress.advance()
        if subset is not None and item.subset != subset:
            continue
        width, height = item.image.size
        objects = item.objects
        columns = None
        if len(objects):
            boxes = objects.boxes
            if width > 0 and height > 0:
                boxes = boxes / np.array([width, height, width, height], dtype=np.float64)
            else:
                boxes = boxes * np.nan
            columns = [np.ascontiguousarray(boxes[:, side], dtype="<f4").tobytes() for side in range(4)]
        labels = [label_map.name_of(label_id) or f"label_{label_id}" for label_id in objects.label_ids.tolist()]
        for label_id, points in zip(objects.label_ids.tolist(), keypoints.column(objects), strict=True):
            if points is not None:
                names = keypoints.names_for(label_map, label_id, len(points))
                accumulator.report.add_keypoints(points[None, :, 2].astype(np.int64), [names])
        present = [mask for mask in objects.masks if mask is not None]
        if masks:
            arrays = [mask.array for mask in present]
            present = [mask for mask, array in zip(present, arrays, strict=True) if array.any()]
            accumulator.add_mask_coverage([array for array in arrays if array.any()])
        data = item.image.data
        accumulator.add(
            item.subset,
            width,
            height,
            columns,
            labels,
            masked=len(present),
            embedded=bool(data),
            image_format=image_format_of(data) if data else "",
        )
