"""The TF Object Detection API detection schema: items <-> ``tf.train.Example`` records, and ``.tfrecord`` files.

Keys follow the OD API's ``tf_example_decoder`` and CVAT's "TFRecord 1.0". Boxes are normalized
by width/height on write and denormalized on read; label names resolve from ``class/text``, else the label map
by ``class/label``, else ``label_<id>``. Keys tfodkit does not model are kept in
``item.attributes["tfrecord_features"]`` and written back unchanged.

Read: ``read("train.tfrecord")``, ``read("folder/")`` (every ``.tfrecord`` in it, subset = file stem, shards
grouped), ``read("data/*.tfrecord")``. Write: ``write(dataset, "out.tfrecord")`` (one file) or
``write(dataset, "out_dir/")`` (one ``<subset>.tfrecord`` per subset); both add ``label_map.pbtxt``.

The key table is :mod:`tfodkit.formats.tfod_schema`; which files are record files (and their subsets, shards and
label map) :mod:`tfodkit.formats.tfod_files`; which file each written record goes to
:mod:`tfodkit.formats._record_output`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from tfodkit import model
from tfodkit.boxes import checked_boxes
from tfodkit.errors import FormatError, LabelMapError, TfodError, UsageError
from tfodkit.example import decode_example, encode_example
from tfodkit.formats import IMAGES_DIR, LABEL_MAP, SAVE_IMAGES, Option
from tfodkit.formats._files import checked_relative_name
from tfodkit.formats._record_output import RecordRouter, keep_label_map, no_stream, spool_folder
from tfodkit.formats._tfod_keypoints import keypoint_features, read_keypoints
from tfodkit.formats.tfod_files import (
    LABEL_MAP_NAME,
    find_label_map,
    is_record_name,
    is_single_file,
    output_family,
    record_files,
    record_files_in,
)
from tfodkit.formats.tfod_schema import (
    CLASS_LABEL,
    CLASS_TEXT,
    ENCODED,
    EXTRA_FEATURES,
    FILENAME,
    FORMAT,
    HEIGHT,
    ITEM_KEYS,
    KEYPOINT_KEYS,
    MASK,
    OBJECT_EXTRAS,
    OBJECT_KEYS,
    SHA256,
    SOURCE_ID,
    WIDTH,
    XMAX,
    XMIN,
    YMAX,
    YMIN,
)
from tfodkit.labelmap import format_label_map, read_label_map
from tfodkit.losses import (
    Tally,
    count_dropped_attributes,
    count_image_losses,
    count_shape_losses,
    report_loss,
    tallied,
)
from tfodkit.masks import masks_from_numerical, masks_from_png_list, masks_to_numerical, masks_to_png_list
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.parallel import ordered_map
from tfodkit.records import read_records, write_record
from tfodkit.storage import OutputSet, is_url
from tfodkit.tolerance import skip_or_raise

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (LABEL_MAP, IMAGES_DIR)
WRITE_OPTIONS = (
    SAVE_IMAGES.with_default(True),
    Option("shards", int, help="Split TFRecord output into N shards NAME-0000i-of-0000N.", minimum=1),
    Option(
        "shard_size",
        int,
        minimum=1,
        metavar="BYTES",
        help="Start a new TFRecord shard before one would pass BYTES; names NAME-0000i-of-0000N set at the end.",
    ),
    Option("compression", str, choices=("gzip", "zlib"), help="Compress TFRecord output as TF does."),
    Option("numerical_masks", bool, False, help="Write masks as one float list (NUMERICAL_MASKS) instead of PNGs."),
    Option(
        "label_map_out",
        str,
        metavar="PATH",
        help="Write the label map here instead of label_map.pbtxt beside the records.",
    ),
)


# ---------------------------------------------------------------------------------------------- write
def item_to_features(
    item: Item,
    label_map: LabelMap,
    *,
    save_images: bool = True,
    numerical_masks: bool = False,
) -> dict[str, Any]:
    """The ``tf.train.Example`` features of one item, as ``encode_example`` takes them.

    Example:
        >>> label_map = LabelMap.from_names(["car"])
        >>> item = Item("a", ImageRef("a.jpg", width=200, height=100), Objects.from_boxes([[20, 10, 60, 50]], [1]))
        >>> features = item_to_features(item, label_map)
        >>> features["image/object/bbox/xmax"].tolist(), features["image/object/class/text"]
        ([0.30000001192092896], [b'car'])
    """
    width, height = item.image.size
    objects = item.objects
    features: dict[str, Any] = dict(item.attributes.get(EXTRA_FEATURES) or {})
    source_id = item.attributes.get("source_id")
    features[FILENAME] = [item.image.name.encode("utf-8")]
    features[SOURCE_ID] = [(item.image.name if source_id is None else str(source_id)).encode("utf-8")]
    features[HEIGHT] = np.array([height], dtype=np.int64)
    features[WIDTH] = np.array([width], dtype=np.int64)

    encoded = b""
    if save_images and item.image.has_bytes:
        encoded = item.image.read()
    features[ENCODED] = [encoded]
    features[FORMAT] = [model.image_format_of(encoded).encode("ascii") if encoded else b""]
    features[SHA256] = [model.sha256_hex(encoded).encode("ascii") if encoded else b""]

    boxes = objects.boxes
    scale = np.array([width, height, width, height], dtype=np.float64)
    if width <= 0 or height <= 0:
        raise FormatError(f"item {item.id!r}: image size {width}x{height} cannot normalize boxes")
    normalized_boxes = (boxes / scale).astype(np.float32)
    features[XMIN] = normalized_boxes[:, 0]
    features[YMIN] = normalized_boxes[:, 1]
    features[XMAX] = normalized_boxes[:, 2]
    features[YMAX] = normalized_boxes[:, 3]
    features[CLASS_LABEL] = objects.label_ids.astype(np.int64)
    features[CLASS_TEXT] = [_label_name(label_map, label_id, item).encode("utf-8") for label_id in objects.label_ids]

    for key, (column_name, kind) in OBJECT_EXTRAS.items():
        if column_name in objects.attributes:
            features[key] = _extra_column(objects.attribute(column_name), kind)

    features.update(keypoint_features(objects, label_map, width, height))

    if objects.has_masks:
        where = f"item {item.id!r}"
        features[MASK] = (
            masks_to_numerical(objects.masks, height, width)
            if numerical_masks
            else masks_to_png_list(objects.masks, height, width, where=where)
        )
    return features


def item_to_example(item: Item, label_map: LabelMap, **options: Any) -> bytes:
    """The serialized ``tf.train.Example`` of one item (deterministic bytes)."""
    return encode_example(item_to_features(item, label_map, **options))


def _label_name(label_map: LabelMap, label_id: int, item: Item) -> str:
    name = label_map.name_of(int(label_id))
    if name is None and int(label_id) == 0:
        return ""  # an unlabeled object: class/label 0 and class/text "", as Datumaro writes it
    if name is None:
        raise FormatError(f"item {item.id!r}: label id {int(label_id)} is not in the label map")
    return name


def _extra_column(values: list[Any], kind: str) -> Any:
    if kind == "bytes":
        return [("" if value is None else str(value)).encode("utf-8") for value in values]
    if kind == "float":
        return np.array([np.nan if value is None else float(value) for value in values], dtype=np.float32)
    return np.array([0 if value is None else int(value) for value in values], dtype=np.int64)


def write(
    dataset: Dataset,
    path: str,
    *,
    save_images: bool = True,
    compression: str | None = None,
    shards: int | None = None,
    shard_size: int | None = None,
    numerical_masks: bool = False,
    workers: int = 1,
    overwrite: bool = False,
    label_map_out: str | None = None,
) -> None:
    """Write ``dataset`` as TF OD API records, atomically.

    ``path`` ending in ``.tfrecord`` (or ``.record``) is one file holding every subset (``shards=N`` splits it
    into ``NAME-0000i-of-0000N.tfrecord``); any other path is a folder with one ``<subset>.tfrecord`` per
    subset. ``label_map.pbtxt`` is written beside the records in both cases. ``shard_size=BYTES`` instead fills
    shards in item order and starts the next one before a record would take the current one past ``BYTES``
    (framed, uncompressed bytes); the count N is known, and the files named, at the end. ``path`` may be an
    fsspec URL (see :mod:`tfodkit.storage`).

    A record file owns its family of names: ``out.tfrecord``, its shards ``out-NNNNN-of-MMMMM.tfrecord`` and its
    label map. ``overwrite=True`` removes the earlier members this run does not write again (old shards of another
    count); a ``label_map.pbtxt`` already beside it with other labels is refused unless ``overwrite`` (one with the
    same text is left as it is). ``label_map_out`` writes the label map to that path instead.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), os.path.join(folder, "out.tfrecord"))
        >>> sorted(os.listdir(folder))
        ['label_map.pbtxt', 'out.tfrecord']
    """
    with OutputSet() as outputs:
        write_records(
            dataset,
            path,
            outputs,
            save_images=save_images,
            compression=compression,
            shards=shards,
            shard_size=shard_size,
            numerical_masks=numerical_masks,
            workers=workers,
            overwrite=overwrite,
            label_map_out=label_map_out,
        )


def write_records(
    dataset: Dataset,
    path: str,
    outputs: OutputSet,
    *,
    save_images: bool = True,
    compression: str | None = None,
    shards: int | None = None,
    shard_size: int | None = None,
    numerical_masks: bool = False,
    workers: int = 1,
    open_stream: Callable[[Path], IO[bytes] | None] | None = None,
    overwrite: bool = False,
    label_map_out: str | None = None,
    target_name: str = "tfrecord",
) -> list[Path]:
    """Write the records and label map of ``dataset`` under temporary names registered in ``outputs``.

    Returns the final paths (renamed when ``outputs`` commits). Used by :func:`write` and the CVAT zip writer.
    ``open_stream(record_path)`` may give an open stream to write a record file to directly (a zip member)
    instead of a temporary file; it is closed here, and the path is still among those returned.
    What the records cannot hold is counted as losses (see :func:`count_record_losses`), named ``target_name``.
    """
    if is_url(path):  # staged locally, uploaded when ``outputs`` commits
        path = str(outputs.local_mirror(path))
    if shards is not None and shards < 1:
        raise UsageError(f"--shards must be at least 1, got {shards}")
    if shard_size is not None and shard_size < 1:
        raise UsageError(f"--shard-size must be at least 1 byte, got {shard_size}")
    if shards and shard_size:
        raise UsageError("--shards and --shard-size exclude each other: give one")
    target = Path(path)
    single_file = is_single_file(path)
    folder = target.parent if single_file else target
    label_map_path = folder / LABEL_MAP_NAME if label_map_out is None else outputs.local_mirror(label_map_out)
    if overwrite:  # the earlier output's files go when this one is committed, unless written again
        outputs.replace_also(output_family(str(target)) if single_file else record_files_in(folder))
    outputs.make_folder(folder)  # removed on failure
    count_losses = functools.partial(count_record_losses, save_images=save_images, target=target_name)
    encode = functools.partial(
        _encode_for_writer, label_map=dataset.label_map, save_images=save_images, numerical_masks=numerical_masks
    )
    router = RecordRouter(
        target if single_file else None, folder, outputs, compression, shards, shard_size, open_stream or no_stream
    )
    missing_images = 0
    subsets: set[str] = set()
    try:
        # closing(): on an error the workers stop (and stop writing chunks) before the spool folder is removed.
        with (
            spool_folder(folder, workers) as spool_dir,
            contextlib.closing(
                ordered_map(
                    encode,
                    tallied(dataset, count_losses),
                    workers=workers,
                    spool_dir=spool_dir,
                    spool_write=write_record,
                )
            ) as encoded,
        ):
            for subset, item_key, had_image, record in encoded:
                missing_images += save_images and not had_image
                subsets.add(subset)
                router.write(subset, item_key, record)
        router.close()
    except BaseException as error:
        router.abort(error)
        raise
    label_map_text = format_label_map(dataset.label_map)
    if keep_label_map(label_map_path, label_map_text, overwrite):
        outputs.temp_path_for(label_map_path).write_text(label_map_text, encoding="utf-8")
    report_loss("image_missing", missing_images, "images had no bytes to embed; their image/encoded is empty")
    skeletons = sum(1 for label in dataset.label_map if label.skeleton)
    report_loss("skeleton_dropped", skeletons, "label skeletons not written (label_map.pbtxt holds no skeleton)")
    if single_file and len(subsets) > 1:  # one file reads back as one subset, named after the file
        report_loss("subsets_merged", len(subsets), SUBSETS_MERGED)
    return [*router.final_paths(), label_map_path]


SUBSETS_MERGED = "subsets written into one record file, which reads back as one subset (a folder output keeps them)"
# attribute columns records hold
RECORD_COLUMNS = frozenset({*(column for column, _ in OBJECT_EXTRAS.values()), model.KEYPOINTS})


def count_record_losses(item: Item, tally: Tally, *, save_images: bool, target: str = "tfrecord") -> None:
    """Count what a record of ``item`` will not hold: polygon points (kept as the mask when there is one, else
    only as the box), attribute columns other than :data:`RECORD_COLUMNS`, image bytes when not embedding.

    Example:
        >>> square = np.array([[0, 0], [2, 0], [2, 2]])
        >>> objects = Objects(boxes=[[0, 0, 2, 2]], label_ids=[1], polygons=[[square]], attributes={"occluded": [1]})
        >>> tally = Tally()
        >>> count_record_losses(Item("a", ImageRef("a.jpg"), objects), tally, save_images=True)
        >>> dict(tally.counts)
        {'polygon_as_box': 1, 'attribute_dropped': 1}
    """
    objects = item.objects
    count_shape_losses(tally, objects, polygons=False, masks=True, target=target)
    count_dropped_attributes(tally, objects.attributes, RECORD_COLUMNS, target)
    count_image_losses(tally, item, save_images)


def _encode_for_writer(
    item: Item, *, label_map: LabelMap, save_images: bool, numerical_masks: bool
) -> tuple[str, str, bool, bytes]:
    example_bytes = item_to_example(item, label_map, save_images=save_images, numerical_masks=numerical_masks)
    return item.subset, item.id, item.image.has_bytes, example_bytes


# ---------------------------------------------------------------------------------------------- read
def example_to_item(
    features: Mapping[str, Any],
    label_map: LabelMap,
    *,
    subset: str = "default",
    images_dir: str | None = None,
    where: str = "record",
    record_index: int | None = None,
) -> Item:
    """The :class:`Item` of one decoded record; labels are resolved against (and added to) ``label_map``.

    Raises :class:`FormatError` naming ``where`` and ``record_index`` when per-object lists disagree in length.
    """

    def fail(message: str) -> FormatError:
        return FormatError(message, path=where, record_index=record_index)

    filename = _first_text(features, FILENAME, fail)
    source_id = _first_text(features, SOURCE_ID, fail)
    height = _first_int(features, HEIGHT, fail)
    width = _first_int(features, WIDTH, fail)
    encoded = _first_bytes(features, ENCODED)

    count = len(features[XMIN]) if XMIN in features else 0
    for key in (XMIN, XMAX, YMIN, YMAX):  # checked before stacking: a missing or short list is a FormatError
        if (key in features) != (XMIN in features) or (key in features and len(features[key]) != count):
            raise fail(f"{key} has {len(features.get(key, ()))} values but {XMIN} has {count}")
    boxes = (
        np.stack([_floats(features, key, fail) for key in (XMIN, YMIN, XMAX, YMAX)], axis=1)
        if XMIN in features
        else None
    )
    if boxes is not None and len(boxes):  # no writer can carry a NaN or inverted box (tests/bad/, issue 8)
        boxes = _check_boxes(boxes, fail)
    for key in (CLASS_LABEL, *OBJECT_EXTRAS):
        if key in features and len(features[key]) != count:
            raise fail(f"{key} has {len(features[key])} values for {count} objects")
    if CLASS_TEXT in features and len(features[CLASS_TEXT]) not in (0, count):
        raise fail(f"{CLASS_TEXT} has {len(features[CLASS_TEXT])} values for {count} objects")

    if not (width > 0 and height > 0) and encoded:
        width, height = ImageRef(filename or "image", data=encoded).size
    if count and not (width > 0 and height > 0):
        raise fail(f"objects need the image size, but {WIDTH}/{HEIGHT} are {width}x{height} and no image is embedded")
    scale = np.array([width, height, width, height], dtype=np.float64)
    absolute_boxes = np.zeros((0, 4)) if boxes is None else boxes.astype(np.float64) * scale

    label_ids = _resolve_labels(features, count, label_map, fail)
    attributes: dict[str, Any] = {}
    for key, (column_name, kind) in OBJECT_EXTRAS.items():
        if key in features:
            values = features[key]
            if kind == "bytes":
                attributes[column_name] = [_decode_text(value, key, fail) for value in values]
            elif kind == "float":
                attributes[column_name] = [float(value) for value in values]
            else:
                attributes[column_name] = [int(value) for value in values]
    keypoint_column = read_keypoints(features, label_ids, width, height, label_map, fail)
    if keypoint_column is not None and any(points is not None for points in keypoint_column):
        attributes[model.KEYPOINTS] = keypoint_column
    masks = _read_masks(features.get(MASK), count, height, width, where, record_index)
    objects = Objects(boxes=absolute_boxes, label_ids=label_ids, masks=masks, attributes=attributes)

    name = filename or source_id or f"{subset}_{record_index}"
    image_path = None
    if not encoded and images_dir is not None and filename:
        # A name from a stranger's record must not open files outside the images folder ("../../etc/passwd").
        try:
            image_path = os.path.join(images_dir, checked_relative_name(filename, FILENAME))
        except FormatError as error:
            raise fail(error.message) from None
    image = ImageRef(name, data=encoded or None, path=image_path, width=width or None, height=height or None)
    item_attributes: dict[str, Any] = {"source_id": source_id}
    extras = {key: value for key, value in features.items() if key not in MODELLED_KEYS}
    if extras:
        item_attributes[EXTRA_FEATURES] = extras
    return Item(model.item_id_from_name(name), image, objects, subset=subset, attributes=item_attributes)


MODELLED_KEYS = ITEM_KEYS | OBJECT_KEYS | frozenset(KEYPOINT_KEYS)  # the rest is kept in tfrecord_features


def _read_masks(
    values: Any, count: int, height: int, width: int, where: str, record_index: int | None
) -> list[Mask | None]:
    if values is None:
        return [None] * count
    if isinstance(values, np.ndarray):  # NUMERICAL_MASKS: one float list of N*H*W values
        return masks_from_numerical(values, count, height, width, path=where, record_index=record_index)
    return masks_from_png_list(values, count, height, width, path=where, record_index=record_index)


def _first_bytes(features: Mapping[str, Any], key: str) -> bytes:
    values = features.get(key)
    if values is None or len(values) == 0:
        return b""
    value = values[0]
    return value if isinstance(value, bytes) else b""


def _first_text(features: Mapping[str, Any], key: str, fail: Any) -> str:
    return _decode_text(_first_bytes(features, key), key, fail)


def _decode_text(value: bytes, key: str, fail: Any) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"{key} is not UTF-8 text: {error}") from None


def _first_int(features: Mapping[str, Any], key: str, fail: Any) -> int:
    values = features.get(key)
    if values is None or len(values) == 0:
        return 0
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "iu":
        raise fail(f"{key} must be an int64 list")
    return int(values[0])


def _check_boxes(boxes: np.ndarray, fail: Any) -> np.ndarray:
    """Normalized boxes: finite, not inverted, inside [0, 1] (clipped under ``--clip``; see tfodkit.boxes)."""
    for column, key in enumerate((XMIN, YMIN, XMAX, YMAX)):
        bad = np.flatnonzero(~np.isfinite(boxes[:, column]))
        if bad.size:
            raise fail(f"object {int(bad[0])}: {key} is {float(boxes[bad[0], column])}, not a finite number")
    return checked_boxes(
        boxes.astype(np.float64), None, None, lambda index, message: fail(f"object {index}: {message}"), normalized=True
    )


def _floats(features: Mapping[str, Any], key: str, fail: Any) -> np.ndarray:
    values = features[key]
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values.astype(np.float32)
    if isinstance(values, list) and not values:
        return np.zeros(0, dtype=np.float32)
    raise fail(f"{key} must be a float list")


def _resolve_labels(features: Mapping[str, Any], count: int, label_map: LabelMap, fail: Any) -> np.ndarray:
    """Label ids of the objects, from ``class/text`` (else ``class/label``), added to ``label_map`` when new.

    ``class/label`` 0 with an empty ``class/text`` is an unlabeled object (what Datumaro writes for one): id 0,
    never added to the label map.
    """
    texts = features.get(CLASS_TEXT) or []
    numbers = features.get(CLASS_LABEL)
    if numbers is not None and len(numbers) and (not isinstance(numbers, np.ndarray) or numbers.dtype.kind not in "iu"):
        raise fail(f"{CLASS_LABEL} must be an int64 list")
    label_ids = np.zeros(count, dtype=np.int64)
    for index in range(count):
        text = _decode_text(texts[index], CLASS_TEXT, fail) if index < len(texts) else ""
        number = int(numbers[index]) if numbers is not None and index < len(numbers) else None
        if number is not None and number < 0:
            raise fail(f"object {index}: {CLASS_LABEL} is {number}, a negative label id")
        try:
            if text:
                found = label_map.id_of(text)
                if found is None:
                    free = number is not None and number > 0 and number not in label_map
                    found = label_map.add(text, number if free else None)
                label_ids[index] = found
            elif number:
                if number not in label_map:
                    label_map.add(f"label_{number}", number)
                label_ids[index] = number
            elif number == 0 or index < len(texts):
                label_ids[index] = 0  # unlabeled: 0 and "" (Datumaro), or an empty class/text alone
            else:
                raise fail(f"object {index} has neither {CLASS_TEXT} nor {CLASS_LABEL}")
        except LabelMapError as error:  # e.g. "label_3" in the map under another id: name the record
            raise fail(f"object {index}: {error.message}") from None
    return label_ids


def read(path: str, *, label_map: str | None = None, images_dir: str | None = None) -> Dataset:
    """Read TF OD API records as a streaming :class:`Dataset`.

    ``label_map`` is a ``label_map.pbtxt`` path; without it one named ``label_map.pbtxt`` next to the records
    is used when present. Labels not in the map are added as records are read (from ``class/text``, else
    ``label_<id>``). ``images_dir`` is where to find images that records do not embed.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), os.path.join(folder, "train.tfrecord"))
        >>> [(item.subset, item.id, item.objects.boxes.tolist()) for item in read(folder)]
        [('train', 'a', [[0.0, 0.0, 2.0, 2.0]])]
    """
    groups = record_files(path)
    first_folder = os.path.dirname(groups[0][1][0])
    label_map_path = label_map or find_label_map(first_folder or ".")
    labels = read_label_map(label_map_path) if label_map_path else LabelMap()
    return Dataset(
        functools.partial(_iterate_items, groups, labels, images_dir),
        labels,
        name=Path(str(path).rstrip("/")).stem or "dataset",
    )


def read_record_stream(
    records: Iterable[bytes], label_map: LabelMap, *, subset: str, where: str, images_dir: str | None = None
) -> Iterator[Item]:
    """Items of an iterable of serialized records (a file, a zip member, …)."""
    for record_index, record in enumerate(records):
        try:
            features = decode_example(record)
        except TfodError as error:
            skip_or_raise(type(error)(error.message, path=where, record_index=record_index, offset=error.offset))
            continue  # --on-error skip: this record is counted, the next one is read
        try:
            item = example_to_item(
                features, label_map, subset=subset, images_dir=images_dir, where=where, record_index=record_index
            )
        except TfodError as error:
            skip_or_raise(error)
            continue
        yield item


def _iterate_items(groups: list[tuple[str, list[str]]], label_map: LabelMap, images_dir: str | None) -> Iterator[Item]:
    for subset, files in groups:
        for file in files:
            yield from read_record_stream(
                read_records(file), label_map, subset=subset, where=file, images_dir=images_dir
            )


def detect(path: str) -> bool:
    """True for a record file (by its name: ``.tfrecord``, ``.record``, ``.tfrecords``, maybe ``.gz``), a glob or
    sharded name matching such files, or a folder holding some."""
    if os.path.isfile(path) or is_url(path):
        return is_record_name(os.path.basename(str(path)))
    try:
        groups = record_files(path)
    except (FormatError, OSError):
        return False
    return any(is_record_name(os.path.basename(file)) for _, files in groups for file in files)
