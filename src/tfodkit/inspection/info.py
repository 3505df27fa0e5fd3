"""``tfod info``: what a dataset is made of — files, shards, compression, records per subset, size, the keys
records carry (with their types and how many records carry each), the label map, whether images are embedded.

TFRecord inputs (files, folders, globs, shard sets, CVAT zips) are read record by record without decoding
values (:func:`~tfodkit.example.partial.feature_kinds`); other formats are read as items.

Example:
    >>> import tempfile, os
    >>> from tfodkit.formats import tfod
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> folder = tempfile.mkdtemp()
    >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
    >>> dataset = Dataset(items, LabelMap.from_names(["cat"]))
    >>> tfod.write(dataset, os.path.join(folder, "train.tfrecord"), save_images=False)
    >>> report = dataset_info(folder)
    >>> report.records, report.records_per_subset, report.keys["image/object/bbox/xmin"]["types"]
    (1, {'train': 1}, {'float': 1})
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tfodkit import progress
from tfodkit.errors import TfodError
from tfodkit.example.partial import FeatureSelector, feature_kinds, varint_values
from tfodkit.formats import tfod_files
from tfodkit.formats import tfod_schema as tfod
from tfodkit.inspection.sources import (
    RecordSource,
    find_label_map_for,
    is_record_input,
    record_sources,
    resolve_format,
)
from tfodkit.model import LabelMap, image_format_of


@dataclass
class FileInfo:
    """One record file (or zip member): its size, compression, records, and the error that stopped reading it."""

    path: str
    subset: str
    bytes: int
    compression: str | None
    records: int = 0
    shard: tuple[int, int] | None = None  # (index, count) of a NAME-0000i-of-0000N file
    error: str | None = None


@dataclass
class InfoReport:
    """What ``tfod info`` shows; :meth:`as_dict` is the ``--json`` document."""

    source: str
    format: str
    files: list[FileInfo] = field(default_factory=list)
    records: int = 0
    objects: int = 0
    records_per_subset: dict[str, int] = field(default_factory=dict)
    objects_per_subset: dict[str, int] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {"records": n, "types": {kind: n}}
    embedded_images: int = 0
    image_formats: Counter[str] = field(default_factory=Counter)
    label_map_path: str | None = None
    label_map: LabelMap | None = None
    labels_in_records: Counter[str] = field(default_factory=Counter)  # label name (or "id N") -> objects
    missing_shards: dict[str, list[int]] = field(default_factory=dict)  # subset -> missing shard numbers
    errors: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(file.bytes for file in self.files)

    @property
    def complete(self) -> bool:
        """True when every file could be read to its end."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        label_map = None
        if self.label_map is not None:
            label_map = {
                "path": self.label_map_path,
                "labels": len(self.label_map),
                "ids": [label.id for label in self.label_map],
                "names": self.label_map.names,
            }
        return {
            "source": self.source,
            "format": self.format,
            "records": self.records,
            "objects": self.objects,
            "bytes": self.total_bytes,
            "subsets": {
                subset: {"records": count, "objects": self.objects_per_subset.get(subset, 0)}
                for subset, count in sorted(self.records_per_subset.items())
            },
            "files": [
                {
                    "path": file.path,
                    "subset": file.subset,
                    "bytes": file.bytes,
                    "compression": file.compression,
                    "records": file.records,
                    "shard": None if file.shard is None else {"index": file.shard[0], "count": file.shard[1]},
                    "error": file.error,
                }
                for file in self.files
            ],
            "missing_shards": self.missing_shards,
            "keys": dict(sorted(self.keys.items())),
            "images": {
                "embedded": self.embedded_images,
                "not_embedded": self.records - self.embedded_images,
                "formats": dict(self.image_formats),
            },
            "label_map": label_map,
            "labels_in_records": dict(self.labels_in_records.most_common()),
            "errors": self.errors,
        }


def shard_of(path: str) -> tuple[int, int] | None:
    """``(index, count)`` of a ``NAME-0000i-of-0000N.ext`` file name, else None.

    Example:
        >>> shard_of("data/train-00003-of-00010.tfrecord.gz"), shard_of("train.tfrecord")
        ((3, 10), None)
    """
    name = os.path.basename(path)
    for compressed in tfod_files.COMPRESSED_SUFFIXES:
        if name.lower().endswith(compressed):
            name = name[: -len(compressed)]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    parts = stem.rsplit("-", 3)
    if len(parts) == 4 and parts[2] == "of" and parts[1].isdigit() and parts[3].isdigit():
        index, count = int(parts[1]), int(parts[3])
        if index < count:
            return index, count
    return None


def dataset_info(
    path: str, format_name: str | None = None, *, label_map: str | None = None, images_dir: str | None = None
) -> InfoReport:
    """Describe the dataset at ``path`` (any readable format). Files that cannot be read to the end are listed
    with their error in ``files`` and ``errors``; reading goes on with the next file."""
    name = resolve_format(path, format_name)
    if is_record_input(path, name):
        return _record_info(path, name, label_map)
    return _dataset_info(path, name, label_map, images_dir)


def _record_info(path: str, format_name: str, label_map: str | None) -> InfoReport:
    report = InfoReport(str(path), format_name)
    report.label_map, report.label_map_path = find_label_map_for(path, label_map)
    # boxes and label ids as their packed bytes: info counts them, and needs no numpy to do so
    selector = FeatureSelector(
        [tfod.CLASS_TEXT], head_keys=[tfod.ENCODED], raw_float_keys=[tfod.XMIN], raw_int_keys=[tfod.CLASS_LABEL]
    )
    label_keys: Counter[Any] = Counter()
    sources = record_sources(path)
    progress.start(progress.indexed_records(source.path for source in sources))
    for source in sources:
        file = FileInfo(source.where, source.subset, source.size, None, shard=shard_of(source.where))
        report.files.append(file)
        report.records_per_subset.setdefault(source.subset, 0)
        try:
            file.compression = source.compression()
            _read_file(source, file, report, selector, label_keys)
        except TfodError as error:
            file.error = str(error)
            report.errors.append(str(error))
    for key, count in label_keys.items():
        if isinstance(key, bytes):
            report.labels_in_records[key.decode("utf-8", "replace")] += count
        else:
            known = report.label_map.name_of(key) if report.label_map is not None else None
            report.labels_in_records[known or _unknown_label_name(key)] += count
    report.missing_shards = _missing_shards(report.files)
    return report


UNLABELED = "(no label)"  # objects with class/label 0 and no class/text: Datumaro's unlabeled objects


def _unknown_label_name(label_id: int) -> str:
    return UNLABELED if label_id == 0 else f"label_{label_id}"


def _read_file(
    source: RecordSource, file: FileInfo, report: InfoReport, selector: FeatureSelector, label_keys: Counter[Any]
) -> None:
    keys = report.keys
    for index, record in enumerate(source.records()):
        try:
            kinds = feature_kinds(record)
            features = selector.decode(record)
            numbers = features.get(tfod.CLASS_LABEL)
            if isinstance(numbers, bytes):
                numbers = varint_values(numbers)
        except TfodError as error:
            raise type(error)(error.message, path=source.where, record_index=index, offset=error.offset) from None
        file.records += 1
        report.records += 1
        progress.advance()
        report.records_per_subset[source.subset] += 1
        for key, kind in kinds.items():
            entry = keys.get(key)
            if entry is None:
                entry = keys[key] = {"records": 0, "types": Counter()}
            entry["records"] += 1
            entry["types"][kind] += 1
        encoded = features.get(tfod.ENCODED) or [b""]
        if isinstance(encoded, list) and encoded[0]:
            report.embedded_images += 1
            report.image_formats[image_format_of(encoded[0]) or "unknown"] += 1
        boxes = features.get(tfod.XMIN)
        count = 0 if boxes is None else len(boxes) // 4 if isinstance(boxes, bytes) else len(boxes)
        report.objects += count
        report.objects_per_subset[source.subset] = report.objects_per_subset.get(source.subset, 0) + count
        texts = features.get(tfod.CLASS_TEXT) or []
        for position in range(count):
            text = texts[position] if position < len(texts) and isinstance(texts, list) else b""
            if text:
                label_keys[text] += 1
            elif numbers is not None and position < len(numbers):
                label_keys[int(numbers[position])] += 1
    for key, entry in keys.items():
        entry["types"] = dict(entry["types"])
        entry["schema"] = schema_of(key)


def schema_of(key: str) -> dict[str, Any] | None:
    """What the detection schema says of ``key`` (None for keys outside it), for ``info``'s key table.

    Example:
        >>> schema_of("image/object/bbox/xmin")
        {'kinds': ['float'], 'per_object': True, 'writer': 'tfodkit'}
    """
    entry = tfod.SCHEMA_BY_KEY.get(key)
    if entry is None:
        return None
    return {"kinds": list(entry.kinds), "per_object": entry.per_object, "writer": entry.writer}


def _missing_shards(files: list[FileInfo]) -> dict[str, list[int]]:
    """subset -> shard numbers absent from a NAME-0000i-of-0000N set (several sets of one subset: by count)."""
    sets: dict[tuple[str, int], set[int]] = {}
    for file in files:
        if file.shard is not None:
            sets.setdefault((file.subset, file.shard[1]), set()).add(file.shard[0])
    missing = {}
    for (subset, count), present in sorted(sets.items()):
        absent = [index for index in range(count) if index not in present]
        if absent:
            missing[subset] = absent
    return missing


def _dataset_info(path: str, format_name: str, label_map: str | None, images_dir: str | None) -> InfoReport:
    from tfodkit.pipeline import read_dataset

    report = InfoReport(str(path), format_name)
    dataset = read_dataset(path, format_name, label_map=label_map, images_dir=images_dir)
    attributes: Counter[str] = Counter()
    progress.start(dataset.length)
    for item in dataset:
        report.records += 1
        progress.advance()
        report.records_per_subset[item.subset] = report.records_per_subset.get(item.subset, 0) + 1
        count = len(item.objects)
        report.objects += count
        report.objects_per_subset[item.subset] = report.objects_per_subset.get(item.subset, 0) + count
        for label_id in item.objects.label_ids.tolist():
            report.labels_in_records[dataset.label_map.name_of(label_id) or _unknown_label_name(label_id)] += 1
        if count:
            for column in item.objects.attributes:
                attributes[column] += 1
        if item.objects.has_masks:
            attributes["(masks)"] += 1
        if item.objects.has_polygons:
            attributes["(polygons)"] += 1
        image = item.image
        if image.data:
            report.embedded_images += 1
            report.image_formats[image_format_of(image.data) or "unknown"] += 1
        elif image.path is not None and os.path.isfile(image.path):
            report.image_formats[os.path.splitext(image.path)[1].lstrip(".").lower() or "unknown"] += 1
        else:
            report.image_formats["(missing)"] += 1
    report.keys = {name: {"records": count, "types": {"attribute": count}} for name, count in attributes.items()}
    report.label_map = dataset.label_map
    report.label_map_path = label_map
    return report
