"""``tfod validate``: find everything in a dataset that breaks training, each finding with its file, record
index, byte offset and key.

TFRecord inputs are checked record by record, straight from the framing: damaged bytes are reported and
skipped (:mod:`tfodkit.inspection.scan` resynchronises on the next intact record), so one bad CRC does not hide
the rest of the file. Each record is decoded and checked on its own (in worker processes with ``workers``),
then across records (duplicate file names and source ids, labels used inconsistently). Other formats are
read as items through :func:`tfodkit.pipeline.read_dataset` and get the checks that apply to them.

The checks (``Finding.check``) are listed in :data:`CHECKS`.

Example:
    >>> import tempfile, os
    >>> from tfodkit.example import encode_example
    >>> from tfodkit.records import RecordWriter
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tfrecord")
    >>> with RecordWriter(path) as writer:
    ...     writer.write(encode_example({"image/height": [10], "image/width": [10], "image/filename": [b"a.jpg"],
    ...         "image/object/bbox/xmin": [0.5], "image/object/bbox/xmax": [0.2],
    ...         "image/object/bbox/ymin": [0.0], "image/object/bbox/ymax": [1.5], "image/object/class/text": [b"cat"]}))
    >>> for finding in validate(path).findings:
    ...     print(finding.check, finding.record, finding.key)
    box_order 0 image/object/bbox/xmin
    box_range 0 image/object/bbox/ymax
    image_missing 0 image/encoded
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tfodkit import progress
from tfodkit.errors import FormatError, LabelMapError
from tfodkit.formats import tfod_schema as tfod
from tfodkit.inspection.info import shard_of
from tfodkit.inspection.record_checks import (
    BOX_KEYS,
    EXPECTED_KINDS,
    PER_OBJECT_KEYS,
    Problem,
    RecordContext,
    RecordFacts,
    check_record,
    image_size_of,
)
from tfodkit.inspection.scan import DamagedRange, IntactRecord, scan_records
from tfodkit.inspection.sources import (
    RecordSource,
    find_label_map_for,
    framed_bytes,
    is_record_input,
    record_sources,
    resolve_format,
)
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.parallel import ordered_map

__all__ = [
    "BOX_KEYS",
    "CHECKS",
    "EXPECTED_KINDS",
    "PER_OBJECT_KEYS",
    "Finding",
    "ValidationReport",
    "check_item",
    "check_record",
    "validate",
]

CHECKS: dict[str, str] = {
    "crc": "damaged bytes: a length or data CRC does not verify, or the file ends inside a record",
    "compression": "the GZIP/ZLIB stream is damaged or truncated; nothing after the damage can be read",
    "shard_missing": "a NAME-0000i-of-0000N set lacks some of its shards",
    "decode": "the record is not a valid tf.train.Example",
    "key_type": "a key holds the wrong type (bytes, float or int64 list)",
    "missing_key": "a key training needs is absent or empty (image size, box coordinates, object labels)",
    "list_length": "per-object lists (boxes, labels, flags, masks) disagree in length",
    "nan": "a box coordinate, area or weight is NaN or infinite",
    "box_range": "a box coordinate is outside [0, 1] (outside the image, for formats with pixel boxes)",
    "box_order": "a box has min > max",
    "box_empty": "a box has zero width or height",
    "label_unknown": "a class/label id or class/text name is not in the label map",
    "label_mismatch": "class/text and class/label disagree (with the label map, or with other records)",
    "label_id": "class/label is 0 (the background id) or negative",
    "sha256": "image/key/sha256 is not the SHA-256 of image/encoded",
    "image_format": "image/format does not name the format of the embedded bytes",
    "image_decode": "the image cannot be decoded",
    "image_size": "the image size differs from image/width x image/height, or they are not positive",
    "image_missing": "the record embeds no image bytes (the OD API cannot train on it), or an item's image is missing",
    "label_map": "the label map cannot be used: id 0 for a label other than background, duplicate names or ids",
    "duplicate_filename": "another record has the same image/filename",
    "duplicate_source_id": "another record has the same image/source_id",
    "mask_decode": "an instance mask cannot be decoded",
    "mask_size": "an instance mask's size differs from the image size",
    "keypoints": "keypoint lists disagree (not K points per object, num not the labeled points) or a point is "
    "outside [0, 1]",
}

DEFAULT_MAX_FINDINGS = 1000
PIXEL_SLACK = 1e-3  # pixels a box of a pixel-box format may pass the image edge by (float noise of conversions)


@dataclass(frozen=True)
class Finding:
    """One problem: which check, where (file, record index, byte offset of the record, key, object), what."""

    check: str
    message: str
    file: str
    record: int | None = None
    key: str | None = None
    object: int | None = None
    offset: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "file": self.file,
            "record": self.record,
            "offset": self.offset,
            "key": self.key,
            "object": self.object,
            "message": self.message,
        }

    def __str__(self) -> str:
        place = [self.file]
        if self.record is not None:
            place.append(f"record {self.record}")
        if self.offset is not None:
            place.append(f"byte {self.offset}")
        if self.key:
            place.append(self.key)
        if self.object is not None:
            place.append(f"object {self.object}")
        return f"{': '.join([', '.join(place), self.check])}: {self.message}"


@dataclass
class ValidationReport:
    """All findings (the first ``max_findings`` kept in full, every one counted per check)."""

    source: str
    format: str
    records: int = 0
    files: int = 0
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    label_map_path: str | None = None
    images_checked: int = 0
    max_findings: int = DEFAULT_MAX_FINDINGS

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return not self.counts

    def add(self, finding: Finding) -> None:
        self.counts[finding.check] = self.counts.get(finding.check, 0) + 1
        if not self.max_findings or len(self.findings) < self.max_findings:
            self.findings.append(finding)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "files": self.files,
            "records": self.records,
            "images_checked": self.images_checked,
            "label_map": self.label_map_path,
            "clean": self.clean,
            "total_findings": self.total,
            "counts": dict(sorted(self.counts.items())),
            "findings_shown": len(self.findings),
            "findings": [finding.as_dict() for finding in self.findings],
        }


# ------------------------------------------------------------------------------------------ a dataset
class _CrossChecks:
    """Checks across records: duplicate names and ids, and (without a label map) labels used two ways."""

    def __init__(self, report: ValidationReport, label_map: LabelMap | None) -> None:
        self.report = report
        self.label_map = label_map
        self.filenames: dict[str, tuple[str, int]] = {}
        self.source_ids: dict[str, tuple[str, int]] = {}
        self.id_of_text: dict[str, tuple[int, str, int]] = {}
        self.text_of_id: dict[int, tuple[str, str, int]] = {}

    def add(self, facts: RecordFacts, file: str, record: int, offset: int | None) -> None:
        for value, seen, check, key in (
            (facts.filename, self.filenames, "duplicate_filename", tfod.FILENAME),
            (facts.source_id, self.source_ids, "duplicate_source_id", tfod.SOURCE_ID),
        ):
            if not value:
                continue
            first = seen.get(value)
            if first is None:
                seen[value] = (file, record)
            else:
                where = f"record {first[1]}" + ("" if first[0] == file else f" of {first[0]}")
                self.report.add(
                    Finding(check, f"{value!r} is also the value of {where}", file, record, key, offset=offset)
                )
        if self.label_map is not None:
            return
        for text, number in facts.labels:
            known = self.id_of_text.setdefault(text, (number, file, record))
            if known[0] != number:
                self.report.add(
                    Finding(
                        "label_mismatch",
                        f"{text!r} has class/label {number} here and {known[0]} in record {known[2]} of {known[1]}",
                        file,
                        record,
                        tfod.CLASS_LABEL,
                        offset=offset,
                    )
                )
                continue
            named = self.text_of_id.setdefault(number, (text, file, record))
            if named[0] != text:
                self.report.add(
                    Finding(
                        "label_mismatch",
                        f"class/label {number} is {text!r} here and {named[0]!r} in record {named[2]} of {named[1]}",
                        file,
                        record,
                        tfod.CLASS_TEXT,
                        offset=offset,
                    )
                )


def validate(
    path: str,
    format_name: str | None = None,
    *,
    label_map: str | None = None,
    images_dir: str | None = None,
    decode_images: bool = True,
    workers: int = 1,
    max_findings: int = DEFAULT_MAX_FINDINGS,
) -> ValidationReport:
    """Check the dataset at ``path`` (any readable format) and report every finding.

    ``decode_images=False`` reads image and mask headers only (faster; corrupt pixel data goes unnoticed).
    ``max_findings`` bounds the findings kept in full (0: all); every finding is counted.
    Raises :class:`~tfodkit.errors.TfodError` when the input cannot be read at all.
    """
    name = resolve_format(path, format_name)
    report = ValidationReport(str(path), name, max_findings=max_findings)
    if is_record_input(path, name):
        try:
            labels, report.label_map_path = find_label_map_for(path, label_map)
        except LabelMapError as error:  # a finding, not the end: the records are still worth checking
            report.add(_label_map_finding(error, label_map or str(path)))
            labels = None
        context = RecordContext(labels, decode_images, images_dir)
        _validate_records(path, context, report, workers)
    else:
        _validate_items(path, name, report, label_map, images_dir, decode_images)
    report.findings.sort(key=_finding_order)
    return report


def _label_map_finding(error: LabelMapError, fallback: str) -> Finding:
    where = f"line {error.line}: " if error.line is not None else ""
    message = f"{where}{error.message}; labels are checked across records instead"
    return Finding("label_map", message, error.path or fallback)


def _finding_order(finding: Finding) -> tuple[Any, ...]:
    def number(value: int | None) -> int:
        return -1 if value is None else value

    return (
        finding.file,
        number(finding.record),
        number(finding.offset),
        finding.check,
        finding.key or "",
        number(finding.object),
        finding.message,
    )


def _validate_records(path: str, context: RecordContext, report: ValidationReport, workers: int) -> None:
    sources = record_sources(path)
    cross = _CrossChecks(report, context.label_map)
    _check_shards(sources, report)
    progress.start(progress.indexed_records(source.path for source in sources))
    check = functools.partial(_check_framed, context=context)
    for source in sources:
        report.files += 1
        for event in ordered_map(check, _framed_records(source, report), workers=workers, chunk_size=8):
            file, record, offset, problems, facts = event
            report.records += 1
            progress.advance()
            report.images_checked += facts.image_checked
            for check_name, key, index, message in problems:
                report.add(Finding(check_name, message, file, record, key, index, offset))
            cross.add(facts, file, record, offset)


def _check_framed(
    job: tuple[str, int, int, bytes], context: RecordContext
) -> tuple[str, int, int, list[Problem], RecordFacts]:
    file, record, offset, data = job
    problems, facts = check_record(data, context)
    return file, record, offset, problems, facts


def _framed_records(source: RecordSource, report: ValidationReport) -> Iterator[tuple[str, int, int, bytes]]:
    """(file, record index, offset, data) of every intact record; damage goes into ``report`` as it is met.

    Record indices count the records lost in damaged ranges (at least one each), so they stay close to the
    record's position in the file; the byte offset is exact.
    """
    lost = intact = 0
    with framed_bytes(source) as framed:
        for event in scan_records(framed.buffer):
            if isinstance(event, IntactRecord):
                intact += 1
                yield source.where, event.index + lost, event.offset, event.data
            else:
                assert isinstance(event, DamagedRange)
                at_end = ", to the end of the stream" if event.end >= len(framed.buffer) else ""
                report.add(
                    Finding(
                        "crc",
                        f"bytes {event.start}-{event.end} ({event.size} bytes{at_end}) hold no intact record: "
                        f"at least {event.records_lost} record(s) lost; `tfod repair` copies the rest",
                        source.where,
                        intact + lost,  # the index the first lost record had
                        offset=event.start,
                    )
                )
                lost += event.records_lost
        if framed.stream_error is not None:
            report.add(
                Finding(
                    "compression",
                    f"{framed.stream_error} at compressed byte {framed.stream_error_offset}; "
                    f"records after byte {len(framed.buffer)} of the uncompressed stream are lost",
                    source.where,
                    intact + lost,
                    offset=framed.stream_error_offset,
                )
            )


def _check_shards(sources: list[RecordSource], report: ValidationReport) -> None:
    sets: dict[tuple[str, int], set[int]] = {}
    first_file: dict[tuple[str, int], str] = {}
    for source in sources:
        shard = shard_of(source.where)
        if shard is not None:
            sets.setdefault((source.subset, shard[1]), set()).add(shard[0])
            first_file.setdefault((source.subset, shard[1]), source.where)
    for (subset, count), present in sets.items():
        missing = [index for index in range(count) if index not in present]
        if missing:
            listed = ", ".join(str(index) for index in missing[:20]) + (" …" if len(missing) > 20 else "")
            report.add(
                Finding(
                    "shard_missing",
                    f"subset {subset!r}: {len(missing)} of {count} shards are missing ({listed})",
                    first_file[(subset, count)],
                )
            )


# ------------------------------------------------------------------------------------------ other formats
def _validate_items(
    path: str,
    format_name: str,
    report: ValidationReport,
    label_map: str | None,
    images_dir: str | None,
    decode_images: bool,
) -> None:
    from tfodkit.pipeline import read_dataset

    try:
        dataset = read_dataset(path, format_name, label_map=label_map, images_dir=images_dir)
    except LabelMapError as error:
        if label_map is None:
            raise
        report.add(_label_map_finding(error, label_map))
        dataset = read_dataset(path, format_name, images_dir=images_dir)
    report.files = 1
    progress.start(dataset.length)
    names: dict[str, int] = {}
    ids: dict[tuple[str, str], int] = {}
    for index, item in enumerate(_boxes_as_written(dataset)):  # every bad box a finding, not a reader error
        report.records += 1
        progress.advance()
        for check_name, key, position, message in check_item(item, dataset, decode_images):
            report.add(Finding(check_name, message, str(path), index, key, position))
        report.images_checked += item.image.has_bytes
        for value, seen, check_name in ((item.image.name, names, "duplicate_filename"),):
            if value in seen:
                report.add(
                    Finding(check_name, f"{value!r} is also the image of item {seen[value]}", str(path), index, "image")
                )
            else:
                seen[value] = index
        identity = (item.subset, item.id)
        if identity in ids:
            report.add(
                Finding(
                    "duplicate_source_id",
                    f"item id {item.id!r} ({item.subset}) is also item {ids[identity]}",
                    str(path),
                    index,
                    "id",
                )
            )
        else:
            ids[identity] = index


def _boxes_as_written(dataset: Dataset) -> Iterator[Item]:
    from tfodkit.boxes import keeping_boxes

    with keeping_boxes():
        yield from dataset


def check_item(item: Item, dataset: Dataset, decode_images: bool = True) -> list[Problem]:
    """The problems of one item of any format: boxes, labels, image, masks (keys name the model's fields)."""
    problems: list[Problem] = []
    size = item.image.known_size
    image_size = None
    if item.image.has_bytes:
        try:
            encoded = item.image.read()
        except FormatError as error:
            problems.append(("image_missing", "image", None, error.message))
        else:
            image_size = image_size_of(encoded, decode_images, "image", problems)
            if image_size is not None and size is not None and image_size != size:
                problems.append(
                    (
                        "image_size",
                        "image",
                        None,
                        f"the image is {image_size[0]}x{image_size[1]}, the annotation says {size[0]}x{size[1]}",
                    )
                )
    else:
        problems.append(("image_missing", "image", None, f"{item.image.name!r} has no image file or bytes"))
    width, height = size or image_size or (None, None)
    objects = item.objects
    slack = PIXEL_SLACK
    for index, row in enumerate(objects.boxes.tolist()):
        xmin, ymin, xmax, ymax = row
        text = "[" + ", ".join(f"{value:.6g}" for value in row) + "] (xmin, ymin, xmax, ymax)"
        if not all(math.isfinite(value) for value in row):
            problems.append(("nan", "box", index, f"box {text}"))
            continue
        if (
            width is not None
            and height is not None
            and (min(row) < -slack or max(xmin, xmax) > width + slack or max(ymin, ymax) > height + slack)
        ):
            problems.append(("box_range", "box", index, f"box {text} is not inside the {width}x{height} image"))
        if xmin > xmax or ymin > ymax:
            problems.append(("box_order", "box", index, f"box {text} has min > max"))
        elif xmin == xmax or ymin == ymax:
            problems.append(("box_empty", "box", index, f"box {text} has no area"))
    for index, label_id in enumerate(objects.label_ids.tolist()):
        if label_id not in dataset.label_map:
            problems.append(("label_unknown", "label", index, f"label id {label_id} is not in the label map"))
    for index, mask in enumerate(objects.masks):
        if mask is None or width is None or height is None:
            continue
        try:
            shape = mask.shape
        except FormatError as error:
            problems.append(("mask_decode", "mask", index, error.message))
            continue
        if shape != (height, width):
            problems.append(
                ("mask_size", "mask", index, f"the mask is {shape[1]}x{shape[0]}, the image {width}x{height}")
            )
    return problems
