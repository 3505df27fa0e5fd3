"""Items made to fit what a target format can hold, before its writer sees them: labels and file names.

- **Unlabeled objects** (``label_id`` 0, not in the label map: Datumaro's ``class/label`` 0 with ``class/text``
  ``""``, CVAT's ``label=""``): TFRecord keeps them as 0/``""``; VOC, COCO, YOLO and CVAT XML need a label for
  every object, so they are left out and counted as the loss ``unlabeled_object``.
- **Label ids with gaps** (1, 3, 7): YOLO and ``hf`` number classes densely, so such ids come back as 1…N (the
  names are kept); the labels whose id changes are counted as the loss ``label_ids_renumbered``.
- **Image names that are not file names** (FiftyOne writes the absolute path of each image into
  ``image/filename``): a folder format (VOC, COCO, YOLO, CVAT XML) needs a relative name inside its folder, so
  the name becomes its last part (``/data/imgs/a.jpg`` → ``a.jpg``); a name another renamed image of this pass
  took already is renamed deterministically (``a_1.jpg``, ``a_2.jpg``…) and counted as the loss
  ``image_renamed``. Only renamed names are remembered (a dataset of plain names costs no memory); one that meets
  an unchanged name of another item is refused by the writer (``two items share the image file name``).
- **Polylines** (CVAT ``<polyline>``: an open line, held as the object's points in ``polygons`` with the
  attribute ``shape`` = ``"polyline"``): only CVAT XML writes them back; for any other target the object keeps
  its box and loses its points (a line is no polygon: no mask, no segmentation), counted as ``polyline_as_box``.

Example:
    >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
    >>> items = [Item(f"/x/{folder}/a", ImageRef(f"/x/{folder}/a.jpg", width=4, height=4),
    ...               Objects.from_boxes([[0, 0, 1, 1]] * 2, [1, 0])) for folder in ("p", "q")]
    >>> fitted = fit_to_target(Dataset(items, LabelMap.from_names(["cat"])), "voc")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     [(item.id, item.image.name, item.objects.label_ids.tolist()) for item in fitted]
    [('a', 'a.jpg', [1]), ('a_1', 'a_1.jpg', [1])]
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterator

import numpy as np

from tfodkit.errors import FormatError
from tfodkit.formats._files import checked_relative_name
from tfodkit.losses import report_loss
from tfodkit.model import Dataset, ImageRef, Item, item_id_from_name

NEEDS_LABELS = frozenset({"voc", "coco", "yolo", "cvat"})  # formats that cannot write an object without a label
DENSE_CLASSES = frozenset({"yolo", "hf"})  # class k is the (k+1)-th label: ids with gaps are numbered anew
FOLDER_FORMATS = frozenset({"voc", "coco", "yolo", "cvat"})  # formats naming files after images inside a folder
SHAPE = "shape"  # per-object attribute naming a CVAT shape kind tfodkit holds in another column
POLYLINE = "polyline"  # SHAPE of a CVAT <polyline>: its points are in ``polygons``, only CVAT XML writes them


def fit_to_target(dataset: Dataset, format_name: str) -> Dataset:
    """``dataset`` as ``format_name``'s writer can hold it (see the module docstring)."""
    drop_unlabeled = format_name in NEEDS_LABELS
    rename = format_name in FOLDER_FORMATS
    dense = format_name in DENSE_CLASSES
    keep_polylines = format_name == "cvat"

    def items() -> Iterator[Item]:
        used: set[str] = set()  # names given to renamed images in this pass (a writer may make several passes)
        for item in dataset:
            if drop_unlabeled:
                item = _without_unlabeled(item, dataset, format_name)
            if not keep_polylines and SHAPE in item.objects.attributes:
                item = _polylines_as_boxes(item)
            if rename:
                item = _with_file_name(item, used)
            yield item
        if dense:  # after the pass: a reader may learn labels as it goes
            renumbered = sum(1 for position, id in enumerate(dataset.label_map.ids, start=1) if id != position)
            report_loss(
                "label_ids_renumbered",
                renumbered,
                f"label ids renumbered: {format_name} numbers classes densely (names kept; ids with gaps change)",
            )

    return Dataset(items, dataset.label_map, name=dataset.name, length=dataset.length)


def _without_unlabeled(item: Item, dataset: Dataset, format_name: str) -> Item:
    label_ids = item.objects.label_ids
    unlabeled = np.array([dataset.label_map.name_of(label_id) is None for label_id in label_ids.tolist()], dtype=bool)
    unlabeled &= label_ids == 0  # other unknown ids stay: the writer names them in its error
    if unlabeled.any():
        report_loss(
            "unlabeled_object", int(unlabeled.sum()), f"unlabeled objects not written: {format_name} needs a label"
        )
        return dataclasses.replace(item, objects=item.objects.select(~unlabeled))  # the input item stays as it was
    return item


def _polylines_as_boxes(item: Item) -> Item:
    shapes = item.objects.attribute(SHAPE)
    lines = [index for index, shape in enumerate(shapes) if shape == POLYLINE and item.objects.polygons[index]]
    if not lines:
        return item
    report_loss("polyline_as_box", len(lines), "CVAT polylines written as their boxes (only --to cvat keeps lines)")
    polygons = [[] if index in lines else parts for index, parts in enumerate(item.objects.polygons)]
    attributes = dict(item.objects.attributes)  # the input item stays as it was
    kinds = [None if index in lines else shape for index, shape in enumerate(shapes)]  # boxes now
    if any(kind is not None for kind in kinds):
        attributes[SHAPE] = kinds
    else:
        del attributes[SHAPE]
    objects = dataclasses.replace(item.objects, polygons=polygons, attributes=attributes)
    return dataclasses.replace(item, objects=objects)


def _with_file_name(item: Item, used: set[str]) -> Item:
    name = item.image.name
    try:
        safe = checked_relative_name(name, "image name")
    except FormatError:
        safe = posixpath.basename(name.replace("\\", "/").rstrip("/")).strip()
        if not safe or safe in (".", ".."):
            safe = posixpath.basename(checked_relative_name(item.id, "item id")) if _is_safe(item.id) else "image"
    if safe in used and safe != name:  # two absolute paths with one base name: the later one is renamed
        stem, dot, extension = safe.rpartition(".")
        stem, extension = (stem, dot + extension) if stem else (safe, "")
        number = 1
        while f"{stem}_{number}{extension}" in used:
            number += 1
        safe = f"{stem}_{number}{extension}"
        report_loss("image_renamed", 1, "images renamed: their base names collide in the output folder")
    if safe == name:
        return item  # not remembered: only renamed names can meet each other here
    used.add(safe)
    known = item.image.known_size or (None, None)  # a new item and image reference: the input's stay as they were
    image = ImageRef(safe, path=item.image.path, data=item.image.data, width=known[0], height=known[1])
    return dataclasses.replace(item, id=item_id_from_name(safe), image=image)


def _is_safe(name: str) -> bool:
    try:
        checked_relative_name(name, "name")
    except FormatError:
        return False
    return True
