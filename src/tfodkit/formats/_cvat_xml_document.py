"""Writing a CVAT for images 1.1 document: the ``<image>`` elements stream to a body file first (the ``<meta>``
needs what they hold: subsets, attribute names), then the document is the head, ``<meta>``, the body, the tail.

Coordinates are written at full float precision (CVAT writes 2 decimals; it reads any); what CVAT XML cannot
hold is counted as a loss before the caller commits its output.
"""

from __future__ import annotations

import functools
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from lxml import etree

from tfodkit import keypoints, model
from tfodkit.errors import FormatError
from tfodkit.formats._cvat_keypoints import keypoint_element, meta_skeleton
from tfodkit.losses import report_loss
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.target_fit import POLYLINE, SHAPE

ROTATION = "rotation"  # CVAT rotated boxes: degrees, clockwise, around the box centre
# Columns that live in XML attributes of a shape rather than in its <attribute> children.
_SHAPE_COLUMNS = frozenset({model.OCCLUDED, model.Z_ORDER, model.GROUP, ROTATION, SHAPE, model.KEYPOINTS})
_DOCUMENT_HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
_DOCUMENT_TAIL = b"</annotations>\n"


def _number_text(value: float, what: str) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise FormatError(f"{what} is {number}, not a finite number")
    return repr(number)  # the shortest text that reads back as the same float64


def _attribute_text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass
class BodyState:
    """What writing the ``<image>`` elements learned, for the ``<meta>`` written after them."""

    images: int = 0
    subsets: dict[str, int] = field(default_factory=dict)  # subset -> images, in first-seen order
    label_attributes: dict[str, dict[str, None]] = field(default_factory=dict)  # label -> attribute names
    masks_as_boxes: int = 0
    images_not_saved: int = 0  # items with image bytes written without them (save_images off)


def _set(element: Any, name: str, value: str, item: Item) -> None:
    try:
        element.set(name, value)
    except ValueError:
        raise FormatError(f"item {item.id!r}: {name} {value!r} holds characters XML 1.0 cannot represent") from None


def _shape_element(parent: Any, tag: str, label: str, occluded: Any, item: Item) -> Any:
    element = etree.SubElement(parent, tag)  # attributes in CVAT's order: label, occluded, geometry, z_order
    _set(element, "label", label, item)
    element.set("occluded", "1" if occluded else "0")
    return element


def _image_element(item: Item, index: int, label_map: LabelMap, state: BodyState, size: tuple[int, int] | None) -> Any:
    image = etree.Element("image")
    image.set("id", str(index))
    _set(image, "name", item.image.name or item.id, item)
    _set(image, "subset", item.subset, item)
    if size is not None:
        image.set("width", str(int(size[0])))
        image.set("height", str(int(size[1])))
    objects = item.objects
    occluded = objects.attribute(model.OCCLUDED, False)
    z_orders = objects.attribute(model.Z_ORDER, 0)
    groups = objects.attribute(model.GROUP, 0)
    rotations = objects.attribute(ROTATION, None)
    kinds = objects.attribute(SHAPE, None)  # "polyline": the points are an open line
    point_column = keypoints.column(objects)
    free_columns = [(name, objects.attribute(name)) for name in objects.attributes if name not in _SHAPE_COLUMNS]
    next_group = max([int(group or 0) for group in groups], default=0) + 1
    for index_in_item in range(len(objects)):
        label_id = int(objects.label_ids[index_in_item])
        label = label_map.name_of(label_id)
        if label is None:
            raise FormatError(f"item {item.id!r}: label id {label_id} is not in the label map")
        group = int(groups[index_in_item] or 0)
        parts = objects.polygons[index_in_item]
        if len(parts) > 1 and group == 0:  # parts of one object: CVAT keeps them together by group
            group, next_group = next_group, next_group + 1
        if not parts and objects.masks[index_in_item] is not None:
            state.masks_as_boxes += 1
        shapes = []
        what = f"item {item.id!r}, object {index_in_item}"
        if parts:
            tag = "polyline" if kinds[index_in_item] == POLYLINE else "polygon"
            for polygon in parts:
                shape = _shape_element(image, tag, label, occluded[index_in_item], item)
                points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2).tolist()
                shape.set(
                    "points",
                    ";".join(f"{_number_text(x, what)},{_number_text(y, what)}" for x, y in points),
                )
                shapes.append(shape)
        else:
            # A box (or a mask-only object: masks_to_polygons in transforms turns masks into polygons first).
            shape = _shape_element(image, "box", label, occluded[index_in_item], item)
            for name, value in zip(("xtl", "ytl", "xbr", "ybr"), objects.boxes[index_in_item].tolist(), strict=True):
                shape.set(name, _number_text(value, what))
            rotation = rotations[index_in_item]
            if rotation is not None and float(rotation) != 0.0:
                shape.set(ROTATION, _number_text(rotation, what))
            shapes.append(shape)
        object_points = point_column[index_in_item]
        if object_points is not None:  # the box, and a <skeleton> in its group (read back as one object)
            if group == 0:
                group, next_group = next_group, next_group + 1
            number = functools.partial(_number_text, what=what)
            shapes.append(keypoint_element(image, label, object_points, label_map[label_id].keypoints, number))
        declared = state.label_attributes.setdefault(label, {})
        for shape in shapes:
            shape.set("z_order", str(int(z_orders[index_in_item] or 0)))
            if group:
                shape.set("group_id", str(group))
            for name, column in free_columns:
                value = column[index_in_item]
                if value is None:
                    continue
                attribute = etree.SubElement(shape, "attribute")
                _set(attribute, "name", name, item)
                try:
                    attribute.text = _attribute_text(value)
                except ValueError:
                    raise FormatError(
                        f"item {item.id!r}: attribute {name!r} holds characters XML 1.0 cannot represent"
                    ) from None
                declared[name] = None
    return image


def write_body(dataset: Dataset, body: IO[bytes], save: Callable[[Item, str], None] | None) -> BodyState:
    state = BodyState()
    for item in dataset:
        name = item.image.name or item.id
        size = item.image.known_size
        if save is not None:
            save(item, name)
        elif item.image.has_bytes:
            state.images_not_saved += 1
        if size is None and item.image.has_bytes:
            size = item.image.size  # from the image header
        element = _image_element(item, state.images, dataset.label_map, state, size)
        etree.indent(element, space="  ", level=1)
        body.write(b"  " + etree.tostring(element, encoding="utf-8") + b"\n")
        state.images += 1
        state.subsets[item.subset] = state.subsets.get(item.subset, 0) + 1
    _report_losses(state)
    return state


def _text_child(parent: Any, tag: str, text: str) -> Any:
    child = etree.SubElement(parent, tag)
    try:
        child.text = text
    except ValueError:
        raise FormatError(f"<{tag}> {text!r} holds characters XML 1.0 cannot represent") from None
    return child


def _meta_element(dataset: Dataset, state: BodyState) -> Any:
    meta = etree.Element("meta")
    project = etree.SubElement(meta, "project")
    _text_child(project, "name", dataset.name)
    labels = etree.SubElement(project, "labels")
    for label in dataset.label_map:
        element = etree.SubElement(labels, "label")
        _text_child(element, "name", label.name)
        attributes = etree.SubElement(element, "attributes")
        for name in state.label_attributes.get(label.name, {}):
            attribute = etree.SubElement(attributes, "attribute")
            _text_child(attribute, "name", name)
            _text_child(attribute, "mutable", "False")
            _text_child(attribute, "input_type", "text")
            _text_child(attribute, "default_value", "")
            _text_child(attribute, "values", "")
        if label.keypoints:
            meta_skeleton(labels, label)
    tasks = etree.SubElement(project, "tasks")
    for index, (subset, count) in enumerate(state.subsets.items()):
        task = etree.SubElement(tasks, "task")
        _text_child(task, "id", str(index))
        _text_child(task, "name", subset)
        _text_child(task, "size", str(count))
        _text_child(task, "mode", "annotation")
        _text_child(task, "subset", subset)
    etree.indent(meta, space="  ", level=1)
    return meta


def write_document(out: IO[bytes], body: IO[bytes], dataset: Dataset, state: BodyState) -> None:
    out.write(_DOCUMENT_HEAD)
    out.write(b"  " + etree.tostring(_meta_element(dataset, state), encoding="utf-8") + b"\n")
    body.seek(0)
    shutil.copyfileobj(body, out, 1 << 20)
    out.write(_DOCUMENT_TAIL)


def _report_losses(state: BodyState) -> None:
    """Said once the body is written and before the output is committed (``--strict`` then writes nothing)."""
    report_loss(
        "mask_as_box",
        state.masks_as_boxes,
        "objects with a mask and no polygon written as <box> (-t masks_to_polygons keeps their shape)",
    )
    report_loss(
        "image_not_embedded", state.images_not_saved, "images not embedded or copied (--save-images keeps them)"
    )
