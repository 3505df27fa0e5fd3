"""CVAT XML ``<points>`` and ``<skeleton>`` shapes as keypoints, and skeleton labels in ``<meta>``.

- ``<points label="l" points="x,y;x,y">``: one object whose keypoints are the points (all visible), its box their
  bounds;
- ``<skeleton label="person"><points label="nose" points="x,y" outside="0|1" occluded="0|1"/>…</skeleton>``
  (CVAT 2.x): one object; a point is unlabeled when ``outside="1"`` (or absent), labeled but not visible when
  ``occluded="1"``, else visible; the point order is the order of the label's sub-labels in ``<meta>``
  (``<label><name>nose</name><parent>person</parent></label>``), the skeleton lines its ``<svg>``'s
  ``<line data-node-from data-node-to>`` between ``<circle data-node-id data-label-name>`` nodes;
- a ``<skeleton>`` (or ``<points>``) sharing a non-zero ``group_id`` with a ``<box>`` of the same label is that
  box's keypoints (how the writer keeps an object's own box beside its points).

Example:
    >>> parse_svg('<line data-node-from="1" data-node-to="2"></line><circle data-node-id="1" '
    ...           'data-label-name="nose"></circle><circle data-node-id="2" data-label-name="eye"></circle>')
    (['nose', 'eye'], [(1, 2)])
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
from lxml import etree

from tfodkit import keypoints
from tfodkit.errors import FormatError
from tfodkit.model import LabelMap

_TAG = re.compile(r"<(circle|line)\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')


def parse_svg(svg: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The node names (in ``data-node-id`` order) and lines (1-based pairs of node positions) of a skeleton svg."""
    nodes: dict[int, str] = {}
    lines: list[tuple[int, int]] = []
    for tag, text in _TAG.findall(svg):
        values = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(text)}
        try:
            if tag == "circle":
                nodes[int(values["data-node-id"])] = values.get("data-label-name", "")
            else:
                lines.append((int(values["data-node-from"]), int(values["data-node-to"])))
        except (KeyError, ValueError):
            continue  # a node or line CVAT would not draw either
    order = sorted(nodes)
    position = {node: index + 1 for index, node in enumerate(order)}
    pairs = [(position[a], position[b]) for a, b in lines if a in position and b in position]
    return [nodes[node] for node in order], pairs


def skeleton_labels(labels: Any) -> dict[str, tuple[list[str], list[tuple[int, int]]]]:
    """Skeleton label name -> (point names, skeleton pairs) of a ``<labels>`` element."""
    children: dict[str, list[str]] = {}
    svgs: dict[str, str] = {}
    for label in labels.findall("label"):
        name = (label.findtext("name") or "").strip()
        parent = (label.findtext("parent") or "").strip()
        if parent:
            children.setdefault(parent, []).append(name)
        elif (label.findtext("type") or "").strip() == "skeleton":
            svgs[name] = label.findtext("svg") or ""
            children.setdefault(name, [])
    result = {}
    for name, svg in svgs.items():
        svg_names, pairs = parse_svg(svg)
        names = children.get(name) or svg_names
        by_name = {point: index + 1 for index, point in enumerate(names)}
        if svg_names and all(point in by_name for point in svg_names):  # svg positions -> sub-label positions
            pairs = [(by_name[svg_names[a - 1]], by_name[svg_names[b - 1]]) for a, b in pairs]
        result[name] = (names, [pair for pair in pairs if max(pair) <= len(names)])
    return result


def read_points(element: Any, label_map: LabelMap, label_id: int, where: str) -> np.ndarray:
    """The (K, 3) keypoints of a ``<points>`` or ``<skeleton>`` element."""
    if element.tag == "points":
        flat = _coordinates(element.get("points"), element, where)
        return np.column_stack([flat, np.full(len(flat), keypoints.VISIBLE)])
    names = list(label_map[label_id].keypoints) if label_id in label_map else []
    found: dict[str, tuple[float, float, int]] = {}
    for child in element.findall("points"):
        name = child.get("label") or ""
        if name not in names:
            names.append(name)  # a point the meta did not declare: kept, after the declared ones
            label_map.set_keypoints(label_id, names, label_map[label_id].skeleton)
        if child.get("outside") == "1":
            continue
        x, y = _coordinates(child.get("points"), child, where)[0]
        found[name] = (x, y, keypoints.NOT_VISIBLE if child.get("occluded") == "1" else keypoints.VISIBLE)
    rows = [found.get(name, (0.0, 0.0, keypoints.NOT_LABELED)) for name in names]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _coordinates(text: str | None, element: Any, where: str) -> np.ndarray:
    try:
        pairs = [part.split(",") for part in (text or "").split(";") if part.strip()]
        points = np.array([[float(x), float(y)] for x, y in pairs], dtype=np.float64).reshape(-1, 2)
    except ValueError:
        raise FormatError(
            f"<{element.tag}> points {text!r} are not x,y pairs", path=where, line=element.sourceline
        ) from None
    if not len(points) or not np.isfinite(points).all():
        raise FormatError(
            f"<{element.tag}> points {text!r} are empty or not finite", path=where, line=element.sourceline
        )
    return points


def merge_skeletons(shapes: list[Any]) -> list[Any]:
    """Shapes with each grouped ``<skeleton>``/``<points>`` folded into the ``<box>`` of its label and group."""
    boxes = {(shape.label_id, shape.group): shape for shape in shapes if shape.group and shape.tag == "box"}
    kept = []
    for shape in shapes:
        grouped = shape.tag in ("skeleton", "points") and shape.group
        owner = boxes.get((shape.label_id, shape.group)) if grouped else None
        if owner is not None and owner.keypoints is None:
            owner.keypoints = shape.keypoints
        else:
            kept.append(shape)
    return kept


def keypoint_element(parent: Any, label: str, points: np.ndarray, names: tuple[str, ...], number: Any) -> Any:
    """The shape of an object's keypoints: a ``<skeleton>`` when its label names the points; else, when every point
    is visible, ``<points>`` (how CVAT holds a point set of a plain label); else a ``<skeleton>`` with numbered points.
    """
    if not names and (points[:, 2] == keypoints.VISIBLE).all():
        element = etree.SubElement(parent, "points")
        element.set("label", label)
        element.set("points", ";".join(f"{number(x)},{number(y)}" for x, y, _ in points.tolist()))
        return element
    numbered = [names[index] if index < len(names) else str(index + 1) for index in range(len(points))]
    return skeleton_element(parent, label, points, numbered, number)


def skeleton_element(parent: Any, label: str, points: np.ndarray, names: list[str], number: Any) -> Any:
    """A ``<skeleton>`` of ``points`` (an unlabeled point is ``outside="1"``, a hidden one ``occluded="1"``)."""
    skeleton = etree.SubElement(parent, "skeleton")
    skeleton.set("label", label)
    for (x, y, visibility), name in zip(points.tolist(), names, strict=True):
        point = etree.SubElement(skeleton, "points")
        point.set("label", name)
        point.set("outside", "1" if visibility == keypoints.NOT_LABELED else "0")
        point.set("occluded", "1" if visibility == keypoints.NOT_VISIBLE else "0")
        point.set("points", f"{number(x)},{number(y)}")
    return skeleton


def meta_skeleton(labels: Any, label: Any) -> None:
    """Declare ``label`` (a :class:`~tfodkit.model.Label` with keypoints) as a skeleton with one sub-label a point.

    Its ``<label>`` element (the last child of ``labels``) gets ``<type>skeleton</type>`` and the ``<svg>``; the
    sub-labels follow it, each with its ``<parent>``.
    """
    element = labels[-1]
    etree.SubElement(element, "type").text = "skeleton"
    circles = "".join(
        f'<circle r="1.5" cx="{index * 10}" cy="0" data-type="element node" data-element-id="{index + 1}" '
        f'data-node-id="{index + 1}" data-label-name="{_escaped(name)}"></circle>'
        for index, name in enumerate(label.keypoints)
    )
    lines = "".join(
        f'<line data-type="edge" data-node-from="{a}" data-node-to="{b}"></line>' for a, b in label.skeleton
    )
    etree.SubElement(element, "svg").text = lines + circles
    for name in label.keypoints:
        child = etree.SubElement(labels, "label")
        etree.SubElement(child, "name").text = name
        etree.SubElement(child, "type").text = "points"
        etree.SubElement(child, "attributes")
        etree.SubElement(child, "parent").text = label.name


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
