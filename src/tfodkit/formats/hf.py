"""Hugging Face ``datasets`` object detection, as its guides lay it out — read and write, with pyarrow only.

One row per image: ``image`` (the ``Image`` feature: ``{"bytes": <the original file>, "path": <its name>}``),
``image_id``, ``width``, ``height`` and ``objects`` with ``id``, ``area``, ``bbox`` (COCO ``[x, y, w, h]`` in
pixels) and ``category`` (a ``ClassLabel`` holding the label names: class ``k`` is label-map id ``k + 1``;
``-1``, ClassLabel's "no label", is an unlabeled object).

Two layouts, read and written:

- ``save_to_disk``'s (the default): ``dataset_dict.json`` and one folder per split with
  ``data-0000i-of-0000n.arrow`` (Arrow IPC streams), ``dataset_info.json`` and ``state.json``; a single split's
  folder is read too. ``datasets.load_from_disk(path)`` loads it.
- Parquet as the Hub lays it out (``--parquet``): ``data/<split>-0000i-of-0000n.parquet``; read also from a
  folder of ``*.parquet``, split folders of them, or one file. ``load_dataset("parquet", data_files=…)`` loads it.

Splits are subsets. Rows are read and written a small batch at a time (pyarrow record batches, memory-mapped
Arrow): the table is never held in memory. Images are embedded byte for byte. Object ids are numbering (as
COCO's annotation ids): read, they are not kept; written, they count up from 1. The layout has no place for
masks, polygons or attributes other than ``area``: the writer counts each (``mask_as_box``, ``polygon_as_box``,
``attribute_dropped``). Needs ``pip install 'tfodkit[hf]'`` (pyarrow; ``datasets`` itself is not needed).
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfodkit import model
from tfodkit.boxes import checked_boxes
from tfodkit.errors import FormatError, TfodError, UsageError
from tfodkit.formats import SAVE_IMAGES, Option
from tfodkit.losses import Tally, count_dropped_attributes, count_image_losses, count_shape_losses, tallied
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects, item_id_from_name
from tfodkit.storage import atomic_path
from tfodkit.tolerance import skip_or_raise

READ_OPTIONS = (
    Option("subset", str, help="Read only this subset."),
    Option(
        "bbox_format",
        str,
        "xywh",
        choices=("xywh", "xyxy"),
        help="Hugging Face boxes: COCO [x, y, w, h] (the guides' layout) or [xmin, ymin, xmax, ymax].",
    ),
)
WRITE_OPTIONS = (
    Option("parquet", bool, False, help="Hugging Face output as Parquet (data/<split>-*.parquet), not save_to_disk."),
    SAVE_IMAGES.with_default(True),
)

DATASET_DICT = "dataset_dict.json"
INFO = "dataset_info.json"
STATE = "state.json"
PARQUET_DIR = "data"
ROWS_PER_BATCH = 100  # datasets' own batch size for image datasets: a batch holds at most this many images
MAX_SHARD_BYTES = 500 * 1024 * 1024  # save_to_disk's default max_shard_size
_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")  # what `datasets` accepts as a split name
_CROWD_NAMES = {"iscrowd": model.IS_CROWD, "is_crowd": model.IS_CROWD}
_KNOWN_FIELDS = {"id", "area", "bbox", "category"}


def _pyarrow() -> Any:
    try:
        import pyarrow

        return pyarrow
    except ImportError:
        raise UsageError("the hf format needs pyarrow: pip install 'tfodkit[hf]'") from None


# --------------------------------------------------------------------------------------------- finding files
@dataclass(frozen=True)
class _Split:
    name: str
    files: tuple[Path, ...]  # .arrow streams or .parquet files, in order
    features: dict[str, Any] | None  # the features JSON of dataset_info.json, when there is one


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FormatError(f"cannot read the JSON: {error}", path=str(path)) from None


def _arrow_split(folder: Path, name: str | None) -> _Split:
    state = _read_json(folder / STATE) if (folder / STATE).is_file() else {}
    info = _read_json(folder / INFO) if (folder / INFO).is_file() else {}
    data_files = state.get("_data_files") if isinstance(state, dict) else None
    if isinstance(data_files, list) and data_files:
        files = tuple(folder / str(entry.get("filename", "")) for entry in data_files if isinstance(entry, dict))
    else:
        files = tuple(sorted(folder.glob("*.arrow")))
    for file in files:
        if not file.is_file():
            raise FormatError(f"{STATE} names {file.name}, which is not there", path=str(folder))
    split = name or (state.get("_split") if isinstance(state, dict) else None) or "default"
    features = info.get("features") if isinstance(info, dict) else None
    return _Split(str(split), files, features if isinstance(features, dict) else None)


def _parquet_split_of(file: Path) -> str:
    # Hub names: data/train-00000-of-00002.parquet; a split folder: train/0000.parquet
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", file.stem)
    return stem if stem != file.stem or file.parent.name in (PARQUET_DIR, "") else file.parent.name


def _parquet_files(root: Path) -> list[Path]:
    """The Parquet files of ``root``: itself, its own ``*.parquet``, those of ``data/`` or of split folders."""
    if root.is_file():
        return [root]
    found = sorted(root.glob("*.parquet")) or sorted(root.glob(f"{PARQUET_DIR}/*.parquet"))
    return found or sorted(root.glob("*/*.parquet"))


def _splits(root: Path) -> list[_Split]:
    if root.is_file() and root.suffix == ".arrow":
        return [_Split("default", (root,), None)]
    if (root / DATASET_DICT).is_file():
        names = _read_json(root / DATASET_DICT).get("splits", [])
        return [_arrow_split(root / str(name), str(name)) for name in names]
    if (root / STATE).is_file() or (root / INFO).is_file():
        return [_arrow_split(root, None)]
    files = _parquet_files(root)
    if not files:
        raise FormatError(f"no {DATASET_DICT}, {STATE} or .parquet file here", path=str(root))
    by_split: dict[str, list[Path]] = {}
    for file in files:
        split = "default" if root.is_file() or (file.parent == root and "-of-" not in file.stem) else None
        by_split.setdefault(split or _parquet_split_of(file), []).append(file)
    return [_Split(name, tuple(paths), None) for name, paths in by_split.items()]


# --------------------------------------------------------------------------------------------- features
def _unwrap(feature: Any) -> Any:
    """A feature inside its list wrappers (``Sequence``/``List``/``LargeList``, or a plain ``[feature]``)."""
    while True:
        if isinstance(feature, list) and len(feature) == 1:
            feature = feature[0]
        elif isinstance(feature, dict) and feature.get("_type") in ("Sequence", "List", "LargeList"):
            feature = feature.get("feature")
        else:
            return feature


def class_names(features: dict[str, Any] | None) -> list[str] | None:
    """The ClassLabel names of ``objects.category`` in a features JSON (any ``datasets`` version), else None.

    Example:
        >>> class_names({"objects": {"category": {"feature": {"names": ["a", "b"], "_type": "ClassLabel"},
        ...                                        "_type": "List"}}})
        ['a', 'b']
    """
    objects = _unwrap((features or {}).get("objects"))
    category = _unwrap(objects.get("category")) if isinstance(objects, dict) else None
    if isinstance(category, dict) and category.get("_type") == "ClassLabel" and isinstance(category.get("names"), list):
        return [str(name) for name in category["names"]]
    return None


def _schema_features(schema: Any) -> dict[str, Any] | None:
    raw = (schema.metadata or {}).get(b"huggingface")
    try:
        features = json.loads(raw)["info"]["features"] if raw else None
    except (ValueError, KeyError, TypeError):
        return None
    return features if isinstance(features, dict) else None


def _schema(file: Path) -> Any:
    pa = _pyarrow()
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(file)
    with pa.memory_map(str(file)) as source:
        return pa.ipc.open_stream(source).schema


def _batches(file: Path, columns: list[str]) -> Iterator[Any]:
    """The file's record batches, ``ROWS_PER_BATCH`` rows at most, of ``columns`` only."""
    pa = _pyarrow()
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(file).iter_batches(batch_size=ROWS_PER_BATCH, columns=columns)
        return
    with pa.memory_map(str(file)) as source:  # memory-mapped: a batch's bytes are read when its rows are
        for batch in pa.ipc.open_stream(source):
            for start in range(0, batch.num_rows, ROWS_PER_BATCH):
                yield batch.slice(start, ROWS_PER_BATCH).select(columns)


# --------------------------------------------------------------------------------------------- reading
def read(path: str, *, subset: str | None = None, bbox_format: str = "xywh") -> Dataset:
    """Read a Hugging Face object-detection dataset (``save_to_disk`` folder or Parquet) as a streaming Dataset.

    Example:
        >>> dataset = read("cppe5_saved")  # doctest: +SKIP
        >>> dataset.label_map.names  # doctest: +SKIP
        ['Coverall', 'Face_Shield', 'Gloves', 'Goggles', 'Mask']
    """
    if bbox_format not in ("xywh", "xyxy"):
        raise UsageError(f"--bbox-format must be xywh or xyxy, got {bbox_format!r}")
    root = Path(path)
    if not root.exists():
        raise UsageError(f"{path}: no such file or folder")
    splits = _splits(root)
    if subset is not None:
        splits = [split for split in splits if split.name == subset]
        if not splits:
            raise UsageError(f"{path}: no split named {subset!r}")
    label_map = LabelMap()
    names: list[str] | None = None
    for split in splits:  # every split of a dataset shares its features; the first that names classes decides
        names = class_names(split.features) or (
            class_names(_schema_features(_schema(split.files[0]))) if split.files else None
        )
        if names is not None:
            break
    for index, name in enumerate(names or []):
        label_map.add(name, index + 1)
    read_split = functools.partial(
        _read_split, label_map=label_map, named=names is not None, xyxy=bbox_format == "xyxy"
    )
    return Dataset(
        lambda: (item for split in splits for item in read_split(split)),
        label_map,
        name=(root if root.is_dir() else root.parent).name,
    )


def _read_split(split: _Split, *, label_map: LabelMap, named: bool, xyxy: bool) -> Iterator[Item]:
    place = _Place()
    for file in split.files:
        schema = _schema(file)
        if "image" not in schema.names or "objects" not in schema.names:
            raise FormatError("no 'image' and 'objects' columns: not an object-detection dataset", path=str(file))
        columns = [name for name in ("image", "image_id", "width", "height", "objects") if name in schema.names]
        place.file, place.row = str(file), 0
        for batch in _batches(file, columns):
            for values in batch.to_pylist():
                try:
                    yield _item(values, split.name, place, label_map=label_map, named=named, xyxy=xyxy)
                except TfodError as error:  # one bad row: --on-error skip counts it and goes on
                    skip_or_raise(error)
                place.row += 1
                place.split_row += 1


@dataclass
class _Place:
    """Where a row is: its file and row there (for errors), and its row in the split (names rows without one)."""

    file: str = ""
    row: int = 0
    split_row: int = 0


def _objects_columns(objects: Any) -> dict[str, list[Any]]:
    """``objects`` as columns: a struct of lists (the guides') or a list of structs (``List({...})``)."""
    if objects is None:
        return {}
    if isinstance(objects, dict):
        return {str(key): list(value or []) for key, value in objects.items()}
    columns: dict[str, list[Any]] = {}
    for index, entry in enumerate(objects):
        for key, value in (entry or {}).items():
            columns.setdefault(str(key), [None] * index).append(value)
        for column in columns.values():
            column.extend([None] * (index + 1 - len(column)))
    return columns


def _item(values: dict[str, Any], subset: str, place: _Place, *, label_map: LabelMap, named: bool, xyxy: bool) -> Item:
    def fail(message: str) -> FormatError:
        return FormatError(message, path=place.file, record_index=place.row)

    image = values.get("image") or {}
    if not isinstance(image, dict):
        raise fail("'image' is not an Image feature ({bytes, path})")
    image_id = values.get("image_id")
    data, image_path = image.get("bytes"), image.get("path")
    if image_path:
        name = str(image_path).replace("\\", "/").rsplit("/", 1)[-1] if os.path.isabs(str(image_path)) else image_path
    else:
        extension = model.image_format_of(data or b"") or "jpg"
        name = f"{image_id if image_id is not None else place.split_row}.{'jpg' if extension == 'jpeg' else extension}"
    width, height = values.get("width"), values.get("height")
    ref = ImageRef(str(name), data=data, width=width, height=height)
    if data is None and not (width and height):
        raise fail("a row with neither image bytes nor width and height")
    columns = _objects_columns(values.get("objects"))
    raw_boxes = columns.get("bbox", [])
    categories = columns.get("category", [])
    if len(categories) != len(raw_boxes):
        raise fail(f"{len(raw_boxes)} boxes but {len(categories)} categories")
    try:
        boxes = np.asarray(raw_boxes, dtype=np.float64).reshape(-1, 4)
    except (TypeError, ValueError):
        raise fail("objects.bbox is not a list of 4 numbers per object") from None
    if not xyxy:
        boxes[:, 2:] += boxes[:, :2]
    label_ids = [_label_id(category, label_map, named, fail) for category in categories]
    boxes = checked_boxes(boxes, *ref.size, lambda index, message: fail(f"object {index}: {message}"))
    attributes: dict[str, list[Any]] = {}
    if "area" in columns:
        attributes[model.AREA] = [None if value is None else float(value) for value in columns["area"]]
    for key, column in columns.items():  # extra per-object fields (iscrowd…) are kept as attributes
        if key not in _KNOWN_FIELDS and all(
            value is None or isinstance(value, (bool, int, float, str)) for value in column
        ):
            attributes[_CROWD_NAMES.get(key, key)] = column
    objects = Objects.from_boxes(boxes, label_ids, **attributes)
    attributes_of_item = {} if image_id is None else {"source_id": str(image_id)}
    return Item(item_id_from_name(str(name)), ref, objects, subset=subset, attributes=attributes_of_item)


def _label_id(category: Any, label_map: LabelMap, named: bool, fail: Any) -> int:
    if isinstance(category, str):  # a string column: the names themselves
        return label_map.get_or_add(category) if category else 0
    if category is None or int(category) < 0:  # ClassLabel's -1: no label
        return 0
    label_id = int(category) + 1
    if label_id not in label_map:
        if named:
            raise fail(f"category {category} is not a class of the ClassLabel ({len(label_map)} names)")
        label_map.add(f"class_{category}", label_id)  # no ClassLabel: the class index is all there is
    return label_id


def detect(path: str) -> bool:
    """A ``save_to_disk`` folder (``dataset_dict.json``, ``state.json``), or Parquet/Arrow files whose columns
    include ``image`` and ``objects``."""
    root = Path(path)
    if root.is_file():
        return root.suffix in (".parquet", ".arrow") and _has_columns(root)
    if not root.is_dir():
        return False
    if (root / DATASET_DICT).is_file() or ((root / STATE).is_file() and (root / INFO).is_file()):
        return True
    files = _parquet_files(root)
    return bool(files) and _has_columns(files[0])


def _has_columns(file: Path) -> bool:
    try:
        names = _schema(file).names
    except UsageError:  # no pyarrow: a Parquet file is ours to read, and read() says what to install
        return file.suffix == ".parquet"
    except Exception:  # not an Arrow stream or Parquet file at all
        return False
    return "image" in names and "objects" in names


# --------------------------------------------------------------------------------------------- writing
def features_json(names: list[str]) -> dict[str, Any]:
    """The features of the guides' layout, as ``dataset_info.json`` holds them (``Sequence``: every
    ``datasets`` version reads it).

    Example:
        >>> features_json(["cat"])["objects"]["feature"]["category"]
        {'names': ['cat'], '_type': 'ClassLabel'}
    """

    def value(dtype: str) -> dict[str, Any]:
        return {"dtype": dtype, "_type": "Value"}

    return {
        "image_id": value("int64"),
        "image": {"_type": "Image"},
        "width": value("int32"),
        "height": value("int32"),
        "objects": {
            "feature": {
                "id": value("int64"),
                "area": value("float64"),
                "bbox": {"feature": value("float64"), "length": 4, "_type": "Sequence"},
                "category": {"names": names, "_type": "ClassLabel"},
            },
            "_type": "Sequence",
        },
    }


def _arrow_schema(names: list[str]) -> Any:
    pa = _pyarrow()
    metadata = {"huggingface": json.dumps({"info": {"features": features_json(names)}})}
    objects = pa.struct(
        [
            ("id", pa.list_(pa.int64())),
            ("area", pa.list_(pa.float64())),
            ("bbox", pa.list_(pa.list_(pa.float64(), 4))),  # float64: pixel boxes kept as read, not rounded
            ("category", pa.list_(pa.int64())),
        ]
    )
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [("image_id", pa.int64()), ("image", image), ("width", pa.int32()), ("height", pa.int32())]
    return pa.schema([*fields, ("objects", objects)], metadata=metadata)


class _SplitWriter:
    """One split's files: rows batched, a new shard past ``MAX_SHARD_BYTES``, named ``…-of-n`` at the end."""

    def __init__(self, folder: Path, prefix: str, parquet: bool, schema: Any) -> None:
        self.folder, self.prefix, self.parquet, self.schema = folder, prefix, parquet, schema
        self.rows: list[dict[str, Any]] = []
        self.files: list[Path] = []
        self.writer: Any = None
        self.bytes = 0
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= ROWS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        pa = _pyarrow()
        batch = pa.RecordBatch.from_pylist(self.rows, schema=self.schema)
        self.rows = []
        if self.writer is None or self.bytes >= MAX_SHARD_BYTES:
            self.close_file()
            path = self.folder / f".part-{len(self.files):05d}"
            self.files.append(path)
            self.writer = _new_writer(path, self.parquet, self.schema)
            self.bytes = 0
        self.writer.write_batch(batch)
        self.bytes += batch.nbytes

    def close_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> list[str]:
        """Flush, close and name the files; their names, in order."""
        self.flush()
        if not self.files:  # an empty split still has one (empty) file, as datasets writes it
            self.writer = _new_writer(self.folder / ".part-00000", self.parquet, self.schema)
            self.files.append(self.folder / ".part-00000")
        self.close_file()
        total = len(self.files)
        names = []
        for index, path in enumerate(self.files):
            name = f"{self.prefix}{index:05d}-of-{total:05d}.{'parquet' if self.parquet else 'arrow'}"
            path.rename(self.folder / name)
            names.append(name)
        return names


def _new_writer(path: Path, parquet: bool, schema: Any) -> Any:
    if parquet:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    return _pyarrow().ipc.new_stream(str(path), schema)


def _count_losses(item: Item, tally: Tally, *, save_images: bool) -> None:
    # The guides' layout holds a box, a class and an area per object: no polygon, mask nor other attribute.
    count_shape_losses(tally, item.objects, polygons=False, masks=False, target="hf")
    count_dropped_attributes(tally, item.objects.attributes, (model.AREA,), "hf")
    count_image_losses(tally, item, save_images)


def _split_name(subset: str) -> str:
    if not _SPLIT_NAME.match(subset):
        raise FormatError(f"subset {subset!r} cannot be a Hugging Face split name (letters, digits, _ and .)")
    return subset


def write(dataset: Dataset, path: str, *, parquet: bool = False, save_images: bool = True) -> None:
    """Write ``dataset`` as a Hugging Face dataset, atomically: ``save_to_disk``'s layout, or with ``parquet``
    the Hub's ``data/<split>-*.parquet``. Subsets are splits; images are embedded byte for byte.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "hf")
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), out, save_images=False)  # doctest: +SKIP
        >>> sorted(os.listdir(out))  # doctest: +SKIP
        ['dataset_dict.json', 'default']
    """
    _pyarrow()
    first_names = dataset.label_map.names
    schema = _arrow_schema(first_names)
    with atomic_path(path) as temp:
        temp.mkdir(parents=True)
        writers: dict[str, _SplitWriter] = {}
        numbering = _Numbering()
        try:
            for item in tallied(dataset, functools.partial(_count_losses, save_images=save_images)):
                split = _split_name(item.subset)
                writer = writers.get(split)
                if writer is None:
                    folder = temp / (PARQUET_DIR if parquet else split)
                    folder.mkdir(parents=True, exist_ok=True)
                    writer = _SplitWriter(folder, f"{split}-" if parquet else "data-", parquet, schema)
                    writers[split] = writer
                writer.add(_row(item, dataset.label_map, numbering, save_images))
            files = {split: writer.close() for split, writer in writers.items()}
        finally:
            for writer in writers.values():
                writer.close_file()
        names = dataset.label_map.names
        if names != first_names:  # labels found while reading (records without a label map): stamp the final names
            final = _arrow_schema(names)
            for split, split_files in files.items():
                folder = temp / (PARQUET_DIR if parquet else split)
                for name in split_files:
                    _restamp(folder / name, final, parquet)
        _write_metadata(temp, files, names, parquet)


class _Numbering:
    """Image ids (``source_id`` when it is a number, else counted) and object ids (counted from 1)."""

    def __init__(self) -> None:
        self.images = 0
        self.objects = 1
        self.index_of: dict[int, int] = {}

    def image_id(self, item: Item) -> int:
        self.images += 1
        source_id = str(item.attributes.get("source_id", ""))
        return int(source_id) if source_id.isdigit() else self.images - 1

    def object_ids(self, count: int) -> list[int]:
        self.objects += count
        return list(range(self.objects - count, self.objects))

    def category(self, label_id: int, label_map: LabelMap, item: Item) -> int:
        if label_id == 0:
            return -1  # ClassLabel's "no label": an unlabeled object stays one
        if label_id not in self.index_of:  # labels may be added while the dataset is read: look again
            self.index_of = {id: index for index, id in enumerate(label_map.ids)}
            if label_id not in self.index_of:
                raise FormatError(f"item {item.id!r}: label id {label_id} is not in the label map")
        return self.index_of[label_id]


def _row(item: Item, label_map: LabelMap, numbering: _Numbering, save_images: bool) -> dict[str, Any]:
    width, height = item.image.size
    boxes = item.objects.boxes
    sizes = boxes[:, 2:] - boxes[:, :2]
    areas = [
        float(w * h) if area is None else float(area)
        for area, (w, h) in zip(item.objects.attribute(model.AREA), sizes.tolist(), strict=True)
    ]
    data = item.image.read() if save_images and item.image.has_bytes else None
    return {
        "image_id": numbering.image_id(item),
        "image": {"bytes": data, "path": item.image.name},
        "width": int(width),
        "height": int(height),
        "objects": {
            "id": numbering.object_ids(len(boxes)),
            "area": areas,
            "bbox": np.column_stack([boxes[:, :2], sizes]).tolist(),
            "category": [numbering.category(label_id, label_map, item) for label_id in item.objects.label_ids.tolist()],
        },
    }


def _restamp(file: Path, schema: Any, parquet: bool) -> None:
    """Rewrite ``file`` with ``schema`` (the same columns, other ClassLabel names), a batch at a time."""
    temp = file.with_name(file.name + ".restamp")
    writer = _new_writer(temp, parquet, schema)
    try:
        for batch in _batches(file, schema.names):
            writer.write_batch(_pyarrow().RecordBatch.from_arrays(batch.columns, schema=schema))
    finally:
        writer.close()
    os.replace(temp, file)


def _write_metadata(folder: Path, files: dict[str, list[str]], names: list[str], parquet: bool) -> None:
    """save_to_disk's JSON files (``dataset_dict.json``, per split ``dataset_info.json`` and ``state.json``);
    Parquet needs none: its files carry the features."""
    if parquet:
        if not files:  # no item: an empty split, so the output still loads
            (folder / PARQUET_DIR).mkdir()
            files = {"default": _SplitWriter(folder / PARQUET_DIR, "default-", True, _arrow_schema(names)).close()}
        return
    splits = list(files) or ["default"]
    if not files:
        (folder / "default").mkdir()
        files = {"default": _SplitWriter(folder / "default", "data-", False, _arrow_schema(names)).close()}
    info = {"citation": "", "description": "", "features": features_json(names), "homepage": "", "license": ""}
    for split, split_files in files.items():
        state: dict[str, Any] = {
            "_data_files": [{"filename": name} for name in split_files],
            "_fingerprint": secrets.token_hex(8),  # datasets' cache key; any new value is right for new data
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        (folder / split / INFO).write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        (folder / split / STATE).write_text(json.dumps(state, indent=2), encoding="utf-8")
    (folder / DATASET_DICT).write_text(json.dumps({"splits": splits}), encoding="utf-8")
