"""COCO instances: ``annotations/instances_<subset>.json`` and the images beside them — read and write.

Reading gives what the TF OD API's ``create_coco_tf_record.py`` puts in its records: ``source_id`` = the
COCO image id, labels = the COCO category ids (unless ``label_map`` remaps them by name), boxes
``[x, y, x + w, y + h]``, ``is_crowd`` and ``area`` per object, and the same annotations skipped (width or
height not positive), counted as one loss. A box reaching outside the image (which that script skips silently)
is an error naming the annotation, or clipped with ``--clip`` (see :mod:`tfodkit.boxes`). Polygons are kept as
polygons. Masks: with ``include_masks`` every segmentation (polygons and RLE) becomes an instance mask, as
``--include_masks`` does, held as its source and rasterized only when a writer needs the pixels; without it no
masks are made — RLE segmentations (crowd regions) are then dropped and counted, since records made without masks
do not carry them either. The CLI's ``--masks polygons|all`` reads COCO with ``include_masks``, so crowd regions
keep their RLE.

The dataset may be a local folder or file, or an fsspec URL (``s3://bucket/coco``): the JSON is then streamed
through fsspec the same way, never fetched whole first, and images stay URLs read when needed.

Memory: the file is streamed (ijson) into a temporary SQLite index of annotations per image, then items are
yielded image by image, in file order; memory does not grow with the file. Images are references, never loaded.
The JSON streaming, the index and the piecewise arrays are :mod:`tfodkit.formats._coco_json`.

Writing streams: the ``images`` and ``annotations`` arrays are written piece by piece to temporary files
and joined into ``instances_<subset>.json`` at the end, so memory does not grow with the dataset.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tfodkit import keypoints, model
from tfodkit.boxes import Fail, checked_boxes, clipped_points
from tfodkit.errors import FormatError, LabelMapError, TfodError, TfodWarning
from tfodkit.formats import LABEL_MAP, SAVE_IMAGES, Option
from tfodkit.formats._coco_json import (
    Location,
    SubsetWriter,
    annotation_index,
    annotations_of_image,
    check_array,
    dumps,
    id_key,
    read_categories,
    stream_items,
)
from tfodkit.formats._files import (
    checked_relative_name,
    checked_subset_name,
    image_file_name,
    label_map_option,
    save_image,
)
from tfodkit.losses import Tally, count_image_losses, report_loss, tallied
from tfodkit.model import Dataset, ImageRef, Item, Label, LabelMap, Mask, Objects
from tfodkit.storage import UrlPath, as_path, open_binary
from tfodkit.tolerance import skip_or_raise

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (
    Option("subset", str, help="Read only this subset."),
    Option("include_masks", bool, False, help="Rasterize segmentations to masks."),
    LABEL_MAP,
)
WRITE_OPTIONS = (SAVE_IMAGES.with_default(True),)

ANNOTATIONS_DIR = "annotations"
PREFIX = "instances_"

# Object attributes COCO holds natively; other columns go to Datumaro's per-annotation "attributes" dict.
_NATIVE = frozenset({model.IS_CROWD, model.AREA})


# ---------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class _Source:
    subset: str
    json_path: Location
    root: Location  # the dataset folder: images are looked for under it


ROBOFLOW_NAME = "_annotations.coco.json"  # Roboflow's COCO export: <split>/_annotations.coco.json, images beside


def _roboflow_files(folder: Location) -> list[Location]:
    """``folder``'s own Roboflow annotation file, or those of its split folders (``train/``, ``valid/``, …)."""
    if (folder / ROBOFLOW_NAME).is_file():
        return [folder / ROBOFLOW_NAME]
    return sorted(folder.glob(f"*/{ROBOFLOW_NAME}"), key=str)


def _subset_from_file(path: Location) -> str:
    if path.name == ROBOFLOW_NAME:  # the subset is the split folder's name
        return path.parent.name
    stem = path.stem
    return stem[len(PREFIX) :] if stem.startswith(PREFIX) and len(stem) > len(PREFIX) else stem


def _root_of(json_path: Location) -> Location:
    parent = json_path.parent
    return parent.parent if parent.name == ANNOTATIONS_DIR else parent


def _sources(path: Location, subset: str | None) -> list[_Source]:
    if path.is_file():
        return [_Source(subset or _subset_from_file(path), path, _root_of(path))]
    if not path.is_dir():
        raise FormatError("no such file or folder", path=str(path))
    files: list[Location] = []
    for folder in (path / ANNOTATIONS_DIR, path):
        files = sorted(folder.glob(f"{PREFIX}*.json"), key=str)
        if files:
            break
    else:
        files = _roboflow_files(path)
    if not files:
        raise FormatError(f"no {ANNOTATIONS_DIR}/{PREFIX}<subset>.json here", path=str(path))
    sources = [_Source(_subset_from_file(file), file, _root_of(file)) for file in files]
    if subset is not None:
        sources = [source for source in sources if source.subset == subset]
        if not sources:
            raise FormatError(f"no {PREFIX}{subset}.json", path=str(folder))
    return sources


def _images_dir(root: Location, subset: str, first_file_name: str | None) -> Location:
    """Datumaro's ``images/<subset>/``, COCO 2017's ``<subset>/`` (``train2017/``), or ``images/``."""
    candidates = [root / "images" / subset, root / subset, root / "images", root]
    existing = [folder for folder in candidates if folder.is_dir()]
    if first_file_name is not None:
        for folder in existing:
            if (folder / first_file_name).is_file():
                return folder
    return existing[0] if existing else candidates[0]


def _categories_label_map(files: list[tuple[_Source, list[dict[str, Any]]]]) -> tuple[LabelMap, dict[int, str]]:
    """Category ids as label ids (the OD API keeps them), and id -> name over every file."""
    names: dict[int, str] = {}
    points: dict[int, tuple[Any, Any]] = {}  # person_keypoints: the category's point names and skeleton
    for source, categories in files:
        for category in categories:
            try:
                category_id, name = int(category["id"]), str(category["name"])
            except (KeyError, TypeError, ValueError, OverflowError):  # "id": 1e400 is inf (found by fuzz_coco)
                raise FormatError(f"category without id or name: {category!r}", path=str(source.json_path)) from None
            if category.get("keypoints"):
                points.setdefault(category_id, (category["keypoints"], category.get("skeleton") or ()))
            if names.setdefault(category_id, name) != name:
                raise FormatError(
                    f"category id {category_id} is {names[category_id]!r} in one file and {name!r} here",
                    path=str(source.json_path),
                )
    label_map = LabelMap()
    shift = 1 if 0 in names else 0  # Roboflow numbers categories from 0; id 0 is no label here (unlabeled)
    if shift:
        warnings.warn(
            f"{files[0][0].json_path}: category ids start at 0 ({names[0]!r}); every id is moved up by one "
            "(label map ids start at 1, 0 means no label)",
            TfodWarning,
            stacklevel=3,
        )
    for category_id, name in sorted(names.items()):
        point_names, skeleton = points.get(category_id, ((), ()))
        try:
            label_map.add(name, category_id + shift, keypoints=point_names, skeleton=skeleton)
        except (LabelMapError, TypeError, ValueError) as error:
            message = getattr(error, "message", str(error))
            raise FormatError(f"category {name!r}: {message}", path=str(files[0][0].json_path)) from None
    return label_map, names


def read(
    path: str,
    *,
    subset: str | None = None,
    include_masks: bool = False,
    label_map: str | LabelMap | None = None,
) -> Dataset:
    """Read COCO instances as a streaming :class:`Dataset`.

    ``path``: a folder with ``annotations/instances_<subset>.json`` (each file a subset), or one JSON file; a
    local path or an fsspec URL (``s3://bucket/coco``).
    ``subset`` picks one file of a folder (or names the subset of a single file). ``include_masks`` makes an
    instance mask of every segmentation. ``label_map`` (a ``label_map.pbtxt`` path) remaps categories by
    name; without it label ids are the category ids.

    Example:
        >>> dataset = read("coco", subset="val2017", include_masks=True)  # doctest: +SKIP
        >>> next(iter(dataset)).attributes["source_id"]  # doctest: +SKIP
        '139'
    """
    location = as_path(path)
    sources = _sources(location, subset)
    # Categories first (for the label map): a quick pass over each file that builds nothing else. The number of
    # images is not known before a pass over them, so the dataset's length is left unknown.
    category_lists = []
    for source in sources:
        if not source.json_path.is_file():
            raise FormatError("file not found", path=str(source.json_path))
        category_lists.append((source, read_categories(source.json_path)))
    category_labels, category_names = _categories_label_map(category_lists)
    given = label_map_option(label_map)
    labels = given if given is not None else category_labels
    remap: dict[int, int] | None = None
    if given is None and 0 in category_names:  # ids moved up by one (see _categories_label_map)
        remap = {category_id: category_id + 1 for category_id in category_names}
    if given is not None:
        remap = {}
        for category_id, name in category_names.items():
            label_id = given.id_of(name)
            if label_id is not None:
                remap[category_id] = label_id
    return Dataset(
        functools.partial(_iterate, sources, labels, category_names, remap, include_masks),
        labels,
        name=location.stem if location.is_file() else location.name,
    )


def _iterate(
    sources: list[_Source],
    labels: LabelMap,
    category_names: dict[int, str],
    remap: dict[int, int] | None,
    include_masks: bool,
) -> Iterator[Item]:
    skipped = dropped_rle = missing_images = 0
    for source in sources:
        where = str(source.json_path)
        with contextlib.closing(annotation_index(source.json_path)) as database:
            images_dir: Location | None = None
            for image in stream_items(source.json_path, "images.item"):
                if not isinstance(image, dict):  # found by fuzz/fuzz_coco.py
                    raise FormatError("an entry of 'images' is not a JSON object", path=where)
                if images_dir is None:  # found from the first image's file
                    images_dir = _images_dir(source.root, source.subset, str(image.get("file_name", "")))
                try:
                    item, counts = _item(
                        image, database, source.subset, images_dir, labels, category_names, remap, include_masks, where
                    )
                except TfodError as error:  # one bad image entry: --on-error skip counts it and goes on
                    skip_or_raise(error)
                    continue
                skipped += counts[0]
                dropped_rle += counts[1]
                missing_images += item.image.path is None
                yield item
            if images_dir is None:
                check_array(source.json_path, "images", required=True)
    report_loss(
        "degenerate_box_skipped",
        skipped,
        "COCO annotation(s) skipped: bbox width or height not positive (as create_coco_tf_record.py skips them)",
    )
    report_loss(
        "rle_not_kept",
        dropped_rle,
        "COCO RLE segmentation(s) (crowd regions) not kept as masks; --masks polygons or --include-masks keeps them",
    )
    report_loss("image_missing", missing_images, "COCO image file(s) not found; their items carry no image bytes")


def _item(
    image: dict[str, Any],
    database: sqlite3.Connection,
    subset: str,
    images_dir: Location,
    labels: LabelMap,
    category_names: dict[int, str],
    remap: dict[int, int] | None,
    include_masks: bool,
    where: str,
) -> tuple[Item, tuple[int, int]]:
    try:
        image_id = image["id"]
        file_name = str(image["file_name"])
        width = int(image["width"])
        height = int(image["height"])
        key = id_key(image_id)
    except (KeyError, TypeError, ValueError, OverflowError):  # int(inf) overflows; a list id is refused
        raise FormatError(
            f"image entry without id, file_name, width or height: {str(image)[:120]}", path=where
        ) from None

    boxes: list[list[float]] = []
    annotation_ids: list[Any] = []  # of each box, for its error
    label_ids: list[int] = []
    crowd: list[bool] = []
    areas: list[float | None] = []
    polygons: list[list[np.ndarray]] = []
    masks: list[Mask | None] = []
    object_keypoints: list[np.ndarray | None] = []
    extra: dict[str, list[Any]] = {}
    skipped = dropped_rle = 0
    for annotation in annotations_of_image(database, key):
        try:
            x, y, box_width, box_height = (float(value) for value in annotation["bbox"])
            category_id = int(annotation["category_id"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise FormatError(
                f"annotation {annotation.get('id')!r} has no valid bbox or category_id", path=where
            ) from None
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(box_width) and math.isfinite(box_height)):
            raise FormatError(f"annotation {annotation.get('id')!r}: bbox has a non-finite number", path=where)
        if box_width <= 0 or box_height <= 0:  # as create_coco_tf_record.py skips them: counted, not an error
            skipped += 1
            continue
        box = [x, y, x + box_width, y + box_height]  # checked against the image below, all boxes at once
        if category_id not in category_names:
            raise FormatError(
                f"annotation {annotation.get('id')!r}: category id {category_id} is not in categories", path=where
            )
        if remap is None:
            label_id = category_id
        else:
            found = remap.get(category_id)
            if found is None:
                raise FormatError(
                    f"category {category_names[category_id]!r} (id {category_id}) is not in the label map", path=where
                )
            label_id = found
        index = len(boxes)
        boxes.append(box)
        annotation_ids.append(annotation.get("id"))
        label_ids.append(label_id)
        is_crowd = bool(annotation.get("iscrowd", 0))
        crowd.append(is_crowd)
        area = _finite_or_none(annotation.get("area"), "area", annotation, where)
        areas.append(None if area is None else float(area))
        segmentation = annotation.get("segmentation")
        object_polygons: list[np.ndarray] = []
        mask: Mask | None = None
        if isinstance(segmentation, list):
            object_polygons = [
                clipped_points(points, width, height) for points in _polygons(segmentation, annotation, where)
            ]
            if include_masks and object_polygons:
                mask = Mask.from_polygons(object_polygons, height, width)  # rasterized only when a writer needs it
        elif isinstance(segmentation, dict):
            if include_masks:
                _check_rle(segmentation, height, width, annotation, where)
                mask = Mask.from_rle(segmentation)  # decoded only when a writer needs it
            else:
                dropped_rle += 1
        polygons.append(object_polygons)
        masks.append(mask)
        object_keypoints.append(_keypoints_of(annotation, where))
        attributes = annotation.get("attributes")
        if isinstance(attributes, dict):
            for key, value in attributes.items():
                column = extra.setdefault(str(key), [])
                column.extend([None] * (index - len(column)))
                if isinstance(value, float):
                    value = _finite_or_none(value, str(key), annotation, where)
                column.append(value)

    count = len(boxes)
    columns: dict[str, list[Any] | np.ndarray] = {model.IS_CROWD: crowd, model.AREA: areas}
    for key, column in extra.items():
        if key not in columns:
            columns[key] = column + [None] * (count - len(column))
    if any(points is not None for points in object_keypoints):
        columns[model.KEYPOINTS] = object_keypoints
    # Outside the image: an error, or clipped under --clip (see tfodkit.boxes). One call per image, not per
    # annotation: the per-call numpy overhead was a fifth of reading a COCO file without images.
    checked = checked_boxes(
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        width,
        height,
        _box_failure(annotation_ids, where),
    )
    objects = Objects(
        boxes=checked,
        label_ids=np.array(label_ids, dtype=np.int64),
        masks=masks,
        polygons=polygons,
        attributes=columns,
    )
    try:  # a file_name of "../../x" or "/etc/x" must not open a file outside the dataset
        image_path = images_dir / checked_relative_name(file_name, "file_name")
    except FormatError as error:
        raise FormatError(f"image {image_id}: {error.message}", path=where) from None
    ref = ImageRef(file_name, path=str(image_path) if image_path.is_file() else None, width=width, height=height)
    item_id = model.item_id_from_name(file_name)
    item = Item(item_id, ref, objects, subset=subset, attributes={"source_id": str(image_id)})
    return item, (skipped, dropped_rle)


def _keypoints_of(annotation: dict[str, Any], where: str) -> np.ndarray | None:
    """An annotation's ``keypoints`` ([x, y, v] * K) as a (K, 3) array; None when absent or none is labeled."""
    flat = annotation.get("keypoints")
    if not flat:
        return None
    try:
        if len(flat) % 3:
            raise ValueError(f"{len(flat)} values, not x, y, v triples")
        points = keypoints.as_points(np.array(flat, dtype=np.float64).reshape(-1, 3))
    except (FormatError, TypeError, ValueError) as error:
        message = getattr(error, "message", str(error))
        raise FormatError(f"annotation {annotation.get('id')!r}: keypoints: {message}", path=where) from None
    assert points is not None
    return points if (points[:, 2] > 0).any() else None


def _box_failure(annotation_ids: list[Any], where: str) -> Fail:
    """Names the annotation of the ``index``-th box of an image in a box check's error."""

    def fail(index: int, message: str) -> FormatError:
        return FormatError(f"annotation {annotation_ids[index]!r}: {message}", path=where)

    return fail


def _finite_or_none(value: Any, name: str, annotation: dict[str, Any], where: str) -> Any:
    """``value`` unless it is a non-finite number (1e400 parses as inf), which is a :class:`FormatError`."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"annotation {annotation.get('id')!r}: {name} is not a number", path=where) from None
    if not math.isfinite(number):
        raise FormatError(f"annotation {annotation.get('id')!r}: {name} is not a finite number", path=where)
    return value


def _polygons(segmentation: list[Any], annotation: dict[str, Any], where: str) -> list[np.ndarray]:
    polygons = []
    for points in segmentation:
        try:
            flat = np.asarray(points, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise FormatError(
                f"annotation {annotation.get('id')!r}: a polygon is not a list of numbers", path=where
            ) from None
        if flat.size == 0:
            continue
        if flat.size % 2:
            raise FormatError(f"annotation {annotation.get('id')!r}: a polygon has an odd number of values", path=where)
        if not np.isfinite(flat).all():
            raise FormatError(f"annotation {annotation.get('id')!r}: a polygon has a non-finite number", path=where)
        polygons.append(flat.reshape(-1, 2))
    return polygons


def _check_rle(segmentation: dict[str, Any], height: int, width: int, annotation: dict[str, Any], where: str) -> None:
    """Refuse, naming the file and annotation, an RLE a lazy mask would fail on later: no size or counts, the
    wrong size, counts that do not cover the image."""
    try:
        size = [int(value) for value in segmentation["size"]]
        segmentation["counts"]
    except (KeyError, TypeError, ValueError, OverflowError):  # "size": [1e400, 1] is inf
        raise FormatError(f"annotation {annotation.get('id')!r}: RLE without size or counts", path=where) from None
    if size != [height, width]:
        raise FormatError(
            f"annotation {annotation.get('id')!r}: RLE size {size} is not the image's {[height, width]}", path=where
        )
    from tfodkit.masks.raster import rle_to_runs

    try:
        rle_to_runs(segmentation)  # the runs only (no pixels): counts that do not cover the image fail here
    except (ValueError, TypeError, OverflowError) as error:  # counts [1e400] is inf (found by fuzz_coco)
        raise FormatError(f"annotation {annotation.get('id')!r}: bad RLE: {error}", path=where) from None


def detect(path: str) -> bool:
    """True for a folder with ``annotations/instances_*.json`` (or Roboflow's ``<split>/_annotations.coco.json``)
    or a JSON file that looks like COCO (local or URL)."""
    target = as_path(path)
    try:
        if target.is_dir():
            return (
                any((target / ANNOTATIONS_DIR).glob(f"{PREFIX}*.json"))
                or any(target.glob(f"{PREFIX}*.json"))
                or bool(_roboflow_files(target))
            )
        if target.suffix.lower() == ".json" and target.is_file():
            if target.name.startswith(PREFIX):
                return True
            with open_binary(str(target), header_only=True) as stream:
                head = stream.read(1 << 16)
            return b'"images"' in head and (b'"annotations"' in head or b'"categories"' in head)
    except (OSError, ValueError):
        if not isinstance(target, UrlPath):  # local errors stay errors; a store refusing the question is "not COCO"
            raise
    return False


# ---------------------------------------------------------------------------------------------- writing
def clean_number(value: float) -> float:
    """A coordinate as written: an integer value when within 1/1000 of one (records hold float32), else the
    shortest decimal that reads back as the same float32.

    Example:
        >>> clean_number(47.99999952316284), clean_number(20.050000000000068)
        (48.0, 20.05)
    """
    nearest = round(value)
    if abs(value - nearest) <= 1e-3:
        return float(nearest)
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def _json_value(value: Any) -> Any:
    """A JSON-safe attribute value; None for a non-finite number (JSON has no NaN), which is then left out."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _category(label: Label) -> dict[str, Any]:
    """A COCO category; a label with keypoints gets person_keypoints' ``keypoints`` names and ``skeleton``."""
    category: dict[str, Any] = {"id": int(label.id), "name": label.name, "supercategory": ""}
    if label.keypoints:
        category["keypoints"] = list(label.keypoints)
        category["skeleton"] = [list(pair) for pair in label.skeleton]
    return category


def _annotations_of(item: Item, image_id: int, label_map: LabelMap) -> Iterator[dict[str, Any]]:
    objects = item.objects
    width, height = item.image.size
    crowd = objects.attribute(model.IS_CROWD, False)
    areas = objects.attribute(model.AREA)
    extra = {name: objects.attribute(name) for name in objects.attributes if name not in _NATIVE}
    object_keypoints = extra.pop(model.KEYPOINTS, [None] * len(objects))
    for index, (box, label_id) in enumerate(zip(objects.boxes.tolist(), objects.label_ids.tolist(), strict=True)):
        xmin, ymin, xmax, ymax = box
        (first_x, box_width), (first_y, box_height) = _extent(xmin, xmax, width), _extent(ymin, ymax, height)
        is_crowd = bool(crowd[index])
        segmentation, pixel_area = _segmentation(objects.polygons[index], objects.masks[index], is_crowd, height, width)
        area = areas[index]
        if area is None or not math.isfinite(float(area)):  # records store a missing area as NaN
            area = pixel_area if pixel_area is not None else (xmax - xmin) * (ymax - ymin)
        entry: dict[str, Any] = {
            "id": 0,
            "image_id": image_id,
            "category_id": int(label_id),
            "segmentation": segmentation,
            "area": clean_number(float(area)),
            "bbox": [first_x, first_y, box_width, box_height],
            "iscrowd": int(is_crowd),
        }
        _add_keypoints(entry, object_keypoints[index], label_map, int(label_id))
        values = ((name, _json_value(column[index])) for name, column in extra.items())
        attributes = {name: value for name, value in values if value is not None}
        if attributes:
            entry["attributes"] = attributes  # Datumaro's per-annotation attributes
        yield entry


def _add_keypoints(entry: dict[str, Any], points: np.ndarray | None, label_map: LabelMap, label_id: int) -> None:
    """``keypoints`` and ``num_keypoints`` of an annotation (zeros for an object of a keypoint label without any)."""
    if points is None:
        count = len(label_map[label_id].keypoints) if label_id in label_map else 0
        if not count:
            return
        points = np.zeros((count, 3))
    entry["keypoints"] = [clean_number(value) for value in np.asarray(points, dtype=np.float64).reshape(-1).tolist()]
    entry["num_keypoints"] = int((points[:, 2] > 0).sum())


def _extent(start: float, end: float, limit: int) -> tuple[float, float]:
    """``(start, length)`` as written to a COCO bbox, such that ``start + length`` (summed in float64, as readers
    do) never passes ``limit`` when ``end`` does not: a box touching the right or bottom edge stays inside, and
    the reader does not skip it as past the image.

    Example:
        >>> x, w = _extent(0.6993000507354736, 160.0, 160)  # rounded alone: 0.69930005 + 159.3007 > 160
        >>> x + w <= 160, (x, w)
        (True, (0.69930005, 159.30069995))
    """
    first, length = clean_number(start), clean_number(end - start)
    if end <= limit < first + length:
        length = float(limit) - first  # exact or one rounding off: step down until the sum is inside
        while first + length > limit:
            length = float(np.nextafter(length, -np.inf))
    return first, length


def _segmentation(
    polygons: list[np.ndarray], mask: Mask | None, is_crowd: bool, height: int, width: int
) -> tuple[Any, float | None]:
    """COCO ``segmentation`` and its pixel area: polygons as they are; a mask as RLE for crowd regions, else
    as traced polygons; nothing (``[]``) for a box."""
    from tfodkit.masks import raster

    if polygons and not (mask is not None and is_crowd):
        flat = [
            [clean_number(value) for value in np.asarray(polygon, dtype=np.float64).reshape(-1).tolist()]
            for polygon in polygons
        ]
        return flat, float(raster.polygons_to_array(polygons, height, width).sum())
    if mask is not None:
        pixels = mask.array
        if is_crowd:
            return raster.array_to_rle(pixels), float(np.count_nonzero(pixels))
        traced = raster.array_to_polygons(pixels)
        return [[float(value) for value in polygon.reshape(-1).tolist()] for polygon in traced], float(
            np.count_nonzero(pixels)
        )
    return [], None


def _copy_text(source: Path, out: TextIO) -> None:
    # As bytes (both sides are UTF-8), in 256 KiB pieces: a text copy would hold a 1M-character str and its
    # encoding at once, the peak of the whole write.
    out.flush()
    with open(source, "rb") as stream:
        shutil.copyfileobj(stream, out.buffer, 256 << 10)


def _count_losses(item: Item, tally: Tally, *, save_images: bool) -> None:
    # COCO holds polygons, every attribute (Datumaro's "attributes") and crowd masks (RLE); other masks become
    # traced polygons.
    objects = item.objects
    crowd = objects.attribute(model.IS_CROWD, False)
    for index, (shape, mask) in enumerate(zip(objects.polygons, objects.masks, strict=True)):
        if mask is not None and not shape and not crowd[index]:
            tally.add(
                "mask_as_polygon", "instance masks written as traced polygons (coco holds masks of crowd regions only)"
            )
    count_image_losses(tally, item, save_images)


def write(dataset: Dataset, path: str, *, save_images: bool = True) -> None:
    """Write ``dataset`` as COCO instances, atomically: ``annotations/instances_<subset>.json`` and, with
    ``save_images``, ``images/<subset>/<id>.<ext>`` (the original bytes, copied).

    Category ids are the label-map ids; image ids are kept from ``source_id`` when it is a number (COCO and OD
    API records carry it), else numbered. Polygons are written as polygons, masks of crowd regions as RLE and
    other masks as traced polygons; ``area`` comes from the attribute, else the mask or polygon pixels, else
    the box. Other attributes go to Datumaro's per-annotation ``attributes``.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "coco")
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), out, save_images=False)
        >>> os.listdir(os.path.join(out, "annotations"))
        ['instances_default.json']
    """
    from tfodkit.storage import atomic_path

    with atomic_path(path) as temp:
        parts = temp / ".parts"
        parts.mkdir(parents=True)
        (temp / ANNOTATIONS_DIR).mkdir()
        writers: dict[str, SubsetWriter] = {}
        try:
            for item in tallied(dataset, functools.partial(_count_losses, save_images=save_images)):
                subset = checked_subset_name(item.subset)
                writer = writers.get(subset)
                if writer is None:
                    writer = SubsetWriter(
                        open(parts / f"{subset}.images", "w", encoding="utf-8"),  # noqa: SIM115
                        open(parts / f"{subset}.annotations", "w", encoding="utf-8"),  # noqa: SIM115
                    )
                    writers[subset] = writer
                file_name = image_file_name(item)
                if save_images:
                    save_image(item.image, temp / "images" / subset / file_name)
                width, height = item.image.size
                image_id = writer.image_id(item.attributes.get("source_id"))
                writer.add_image({"id": image_id, "width": int(width), "height": int(height), "file_name": file_name})
                for entry in _annotations_of(item, image_id, dataset.label_map):
                    if dataset.label_map.name_of(entry["category_id"]) is None:
                        raise FormatError(f"item {item.id!r}: label id {entry['category_id']} is not in the label map")
                    writer.add_annotation(entry)
        finally:
            for writer in writers.values():
                writer.images.close()
                writer.annotations.close()
        categories = [_category(label) for label in dataset.label_map]
        for subset in list(writers) or ["default"]:
            with open(temp / ANNOTATIONS_DIR / f"{PREFIX}{subset}.json", "w", encoding="utf-8") as out:
                out.write('{"licenses":[],"info":{},"categories":')
                out.write(dumps(categories))
                out.write(',"images":[')
                if subset in writers:
                    _copy_text(parts / f"{subset}.images", out)
                out.write('],"annotations":[')
                if subset in writers:
                    _copy_text(parts / f"{subset}.annotations", out)
                out.write("]}\n")
        shutil.rmtree(parts)
