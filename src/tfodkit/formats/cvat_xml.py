"""CVAT for images / for video 1.1 XML: ``annotations.xml`` (+ ``images/``), as a file, a folder or CVAT's
export zip (``cvat-cli task export-dataset … --with-images true``, a task's or a project's).

Reading (streaming: lxml ``iterparse``, each ``<image>`` element cleared once turned into an item):

- labels come from ``<meta>`` (``<task>``, ``<project>`` or ``<job>``), numbered 1..N in declaration order
  (skeleton sub-labels, which have a ``<parent>``, are left out); a label used but not declared is added;
- ``<box>`` gives a box; ``<polygon>`` gives an object whose ``polygons`` hold the points and whose box is
  their bounds; ``<polyline>`` too, with the attribute ``shape`` = ``"polyline"`` (written back as
  ``<polyline>``; other targets keep its box: loss ``polyline_as_box``, see :mod:`tfodkit.target_fit`);
  per object: ``occluded`` (bool), ``z_order`` (int), ``group`` (CVAT ``group_id``, 0 when
  absent), ``rotation`` (float, a rotated box, only when some object has one) and each ``<attribute>`` as a
  column of strings (None where an object lacks it; ``difficult``, ``truncated``, ``is_crowd``, ``group_of``
  are read back as bools and ``area``, ``weight`` as floats, as written by other formats);
- CVAT for video's ``<track>``s become per-frame objects (``outside`` frames dropped, ``track_id`` kept), one
  item per frame named ``frame_000000.<ext>`` as in CVAT's export zip: see
  :mod:`tfodkit.formats._cvat_xml_tracks` (a document with ``<image>``s counts its tracks as skipped);
- ``<points>`` and ``<skeleton>`` give an object with keypoints (see :mod:`tfodkit.formats._cvat_keypoints`);
- ``<mask>``, ``<ellipse>``, ``<cuboid>`` and ``<tag>`` elements are skipped, with ONE warning per pass counting
  each kind;
- the subset is the image's ``subset`` attribute (project exports), else the task's ``<subset>``, else the
  file stem for ``<subset>.xml`` files (Datumaro's layout), else ``default``;
- the image file is ``images_dir/<name>`` when given, else the first that exists of ``images/<name>``,
  ``images/<subset>/<name>`` and ``<name>`` beside the XML (inside the zip for an archive, read lazily
  through fsspec's ``zip://`` URL: one image per read, never all at once);
- the parser is hardened: no DTD (a ``<!DOCTYPE>`` is refused: no XXE, no billion laughs), no network, no
  huge text nodes; archive members are checked by :mod:`tfodkit.archive`.

Writing: ``annotations.xml`` in a folder, or in a ``.zip`` when ``path`` ends with ``.zip`` (CVAT's export
layout), with ``images/<name>`` holding the original bytes when ``save_images``. The ``<meta>`` is a
``<project>`` whose ``<tasks>`` list one task per subset and every ``<image>`` carries its ``subset``: that
is how CVAT exports projects and how Datumaro splits them. Objects with polygons are written as
``<polygon>`` (one per part, sharing a ``group_id``; ``<polyline>`` for polylines), the others as ``<box>``;
an object with only a mask is written as a ``<box>`` (run ``masks_to_polygons`` first to keep its shape —
counted in one warning).
Coordinates are written at full float precision (CVAT writes 2 decimals; it reads any). Label ids are not
part of the format: reading back numbers labels 1..N in the written order.

Where documents and images are found (file, folder, zip, URL) and the hardened parser live in
:mod:`tfodkit.formats._cvat_xml_sources`; the XML elements and document the writer streams, in
:mod:`tfodkit.formats._cvat_xml_document`. This module is the format's data flow: read, detect, write.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tfodkit import keypoints, model
from tfodkit.boxes import checked_boxes, clipped_points
from tfodkit.errors import FormatError, TfodError, TfodWarning
from tfodkit.formats import IMAGES_DIR, SAVE_IMAGES
from tfodkit.formats._cvat_keypoints import merge_skeletons, read_points, skeleton_labels
from tfodkit.formats._cvat_xml_document import ROTATION, write_body, write_document
from tfodkit.formats._cvat_xml_sources import (
    ANNOTATIONS_XML,
    IMAGES_FOLDER,
    Container,
    XmlSource,
    container_of,
    image_locator,
    iterparse,
    root_tag,
)
from tfodkit.formats._cvat_xml_tracks import TRACK_ID, VIDEO_SHAPES, FrameIndex, frame_items, index_track, meta_tasks
from tfodkit.formats._files import checked_relative_name, embeds_images, save_image
from tfodkit.losses import current as current_losses
from tfodkit.losses import report_loss
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects, item_id_from_name
from tfodkit.storage import atomic_file, atomic_path, is_file, is_url, join_path, open_input
from tfodkit.target_fit import POLYLINE, SHAPE
from tfodkit.tolerance import skip_or_raise

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (SAVE_IMAGES.with_default(None),)  # None: embed when the input holds the bytes


# Elements of an <image> (and top-level <track>s) read as nothing but a count in the warning.
SKIPPED_SHAPES = ("mask", "ellipse", "cuboid", "tag")
_BOOL_ATTRIBUTES = frozenset({model.DIFFICULT, model.TRUNCATED, model.IS_CROWD, model.GROUP_OF})
_FLOAT_ATTRIBUTES = frozenset({model.AREA, model.WEIGHT})
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same dataset gives the same archive bytes
_TOP_LEVEL_TAGS = ("meta", "image", "track")
_READ_SHAPES = "<box>, <polygon>, <polyline>, <points>, <skeleton> and video <track>s"  # what the item pass reads


class SkippedAnnotationsWarning(TfodWarning):
    """Some annotations of a CVAT file have a kind tfodkit does not model and were skipped (counted)."""


def detect(path: str) -> bool:
    """True for a ``.xml`` whose root is ``<annotations>``, a zip holding ``annotations.xml``, or a folder holding
    ``annotations.xml`` (or Datumaro's ``<subset>.xml`` files) with that root."""
    path = str(path)
    try:
        if is_url(path):
            return _detect_url(path)
        if os.path.isdir(path):
            main = os.path.join(path, ANNOTATIONS_XML)
            names = (
                [ANNOTATIONS_XML]
                if os.path.isfile(main)
                else sorted(name for name in os.listdir(path) if name.lower().endswith(".xml"))[:8]
            )  # Datumaro's <subset>.xml layout; a few files are enough to tell
            for name in names:
                with open(os.path.join(path, name), "rb") as stream:
                    if root_tag(stream) == "annotations":
                        return True
            return False
        if path.lower().endswith(".zip") and os.path.isfile(path):
            with zipfile.ZipFile(path) as archive:
                return ANNOTATIONS_XML in archive.NameToInfo
        if path.lower().endswith(".xml") and os.path.isfile(path):
            with open(path, "rb") as stream:
                return root_tag(stream) == "annotations"
    except (OSError, zipfile.BadZipFile, NotImplementedError, ValueError, EOFError):  # all seen from zipfile (fuzz_zip)
        return False
    return False


def _detect_url(url: str) -> bool:
    if url.lower().endswith(".zip"):
        from tfodkit.archive import open_zip

        try:
            with open_zip(url) as archive:
                return ANNOTATIONS_XML in archive.NameToInfo
        except FormatError:  # not a zip: not ours
            return False
    xml = url if url.lower().endswith(".xml") else join_path(url, ANNOTATIONS_XML)
    if not is_file(xml):
        return False
    with open_input(xml) as stream:
        return root_tag(stream) == "annotations"


# ---------------------------------------------------------------------------------------------- meta
@dataclass
class _Meta:
    labels: list[str] = field(default_factory=list)
    name: str | None = None
    subset: str | None = None  # a task export's <subset>
    tasks: list[dict[str, Any]] = field(default_factory=list)  # <task>/<job> texts: a video's frames
    video: bool = False  # <mode>interpolation</mode>: CVAT for video
    skeletons: dict[str, tuple[list[str], list[tuple[int, int]]]] = field(default_factory=dict)  # point names


def _parse_meta(meta: Any) -> _Meta:
    result = _Meta()
    for holder in meta:  # <task>, <project> or <job>
        if not isinstance(holder.tag, str):
            continue
        if result.name is None:
            result.name = (holder.findtext("name") or "").strip() or None
        if holder.tag == "task":
            result.subset = (holder.findtext("subset") or "").strip() or None
        for labels in holder.findall("labels"):
            result.skeletons.update(skeleton_labels(labels))
            for label in labels.findall("label"):
                if (label.findtext("parent") or "").strip():
                    continue  # a skeleton's point label: skeletons are skipped
                name = label.findtext("name")
                if not name:
                    continue  # a label without a name is no label: it could never be used by a shape
                if name not in result.labels:
                    result.labels.append(name)
    result.tasks, result.video = meta_tasks(meta)
    return result


def _scan_meta(container: Container, source: XmlSource, archive: zipfile.ZipFile | None) -> _Meta:
    """The ``<meta>`` of one document, reading no further than it (or than the first image)."""
    with container.open_source(source, archive) as stream:
        for element in iterparse(stream, source.where):
            parent = element.getparent()
            if element.tag == "meta" and parent is not None and parent.getparent() is None:
                return _parse_meta(element)
            if element.tag in ("image", "track"):
                break
    return _Meta()


# ---------------------------------------------------------------------------------------------- reading
def read(path: str, *, images_dir: str | None = None) -> Dataset:
    """Read a CVAT for images 1.1 dataset: ``annotations.xml``, a folder holding it, or CVAT's export zip.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = open(os.path.join(folder, "annotations.xml"), "w").write(
        ...     '<annotations><version>1.1</version><meta><task><labels><label><name>car</name></label>'
        ...     '</labels></task></meta><image id="0" name="a.jpg" width="64" height="48">'
        ...     '<box label="car" occluded="0" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0"/></image></annotations>')
        >>> dataset = read(folder)
        >>> [(item.id, item.objects.boxes.tolist()) for item in dataset], dataset.label_map.names
        ([('a', [[1.0, 2.0, 30.0, 40.0]])], ['car'])
    """
    path = str(path)
    container = container_of(path)
    label_map = LabelMap()
    name = None
    with container.opened() as archive:
        for source in container.sources:
            meta = _scan_meta(container, source, archive)
            name = name or meta.name
            for label in meta.labels:
                label_map.get_or_add(label)
            for label, (points, skeleton) in meta.skeletons.items():
                if label_map.id_of(label) is not None:
                    label_map.set_keypoints(label_map.id_of(label) or 0, points, skeleton)
    if name is None:
        name = Path(path.rstrip("/")).stem if not path.endswith(ANNOTATIONS_XML) else Path(path).parent.name
    return Dataset(
        lambda: _iterate(container, label_map, images_dir),
        label_map,
        name=name or "dataset",
    )


def _iterate(container: Container, label_map: LabelMap, images_dir: str | None) -> Iterator[Item]:
    skipped: Counter[str] = Counter()
    with container.opened() as archive:
        for source in container.sources:
            locate = image_locator(container, archive, images_dir)
            yield from _iterate_source(container, source, archive, label_map, locate, skipped)
    if skipped and current_losses() is not None:  # in a conversion: one loss per kind of shape
        for tag, count in sorted(skipped.items()):
            kind = "".join(char if char.isalnum() else "_" for char in tag.lower())
            report_loss(
                f"cvat_{kind}_skipped", count, f"CVAT <{tag}> annotations skipped (tfodkit reads {_READ_SHAPES})"
            )
    elif skipped:
        counts = ", ".join(f"{count} <{tag}>" for tag, count in sorted(skipped.items()))
        warnings.warn(
            SkippedAnnotationsWarning(
                f"{container.path}: skipped annotations tfodkit does not model (only {_READ_SHAPES} are read): {counts}"
            ),
            stacklevel=2,
        )


def _iterate_source(
    container: Container,
    source: XmlSource,
    archive: zipfile.ZipFile | None,
    label_map: LabelMap,
    locate: Callable[[str, str, int | None, int | None], ImageRef],
    skipped: Counter[str],
) -> Iterator[Item]:
    default_subset = source.stem_subset or "default"
    meta = _Meta()
    images = 0
    index: FrameIndex | None = None  # a video's shapes by frame, made at its first <track>
    try:
        with container.open_source(source, archive) as stream:
            root = None
            for element in iterparse(stream, source.where, _TOP_LEVEL_TAGS):
                parent = element.getparent()
                if parent is None:
                    break  # </annotations>
                if root is None:
                    root = element.getroottree().getroot()
                if parent is not root:
                    continue  # shapes inside an <image>: handled with their image
                if element.tag == "meta":
                    meta = _parse_meta(element)
                    default_subset = meta.subset or source.stem_subset or "default"
                elif element.tag == "image":
                    images += 1
                    try:
                        item = _image_item(element, source.where, label_map, locate, default_subset, skipped)
                    except TfodError as error:  # one bad <image>: --on-error skip counts it and goes on
                        skip_or_raise(error)
                    else:
                        yield item
                elif element.tag == "track":
                    index = index or FrameIndex()
                    try:
                        index_track(element, source.where, label_map, meta.tasks, default_subset, index, skipped)
                    except TfodError as error:  # one bad <track>: --on-error skip counts it and goes on
                        skip_or_raise(error)
                # Free what was parsed: the element, and the already handled siblings before it.
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del root[0]
        if images and index is not None:  # CVAT for images: shapes belong to <image>s; tracks beside them are not
            skipped["track"] += index.tracks
        elif index is not None or meta.video:
            yield from frame_items(index, meta.tasks, default_subset, locate)
    finally:
        if index is not None:
            index.close()


def _checked_image_name(name: str | None, where: str, line: int | None) -> str:
    if not name:
        raise FormatError("<image> has no name", path=where, line=line)
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in text.split("/"):
        raise FormatError(f"image name {name!r} points outside the dataset folder", path=where, line=line)
    return name


# The attribute helpers take the element's attributes as one dict (one lxml call per element, not per value).
def _int_attribute(
    element: Any, values: dict[str, str], name: str, where: str, default: int | None = None
) -> int | None:
    text = values.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value.is_integer():
            raise FormatError(
                f"<{element.tag}> {name}={text!r} is not an integer", path=where, line=element.sourceline
            ) from None
        return int(value)


def _float_attribute(element: Any, values: dict[str, str], name: str, where: str) -> float:
    text = values.get(name)
    if text is None:
        raise FormatError(f"<{element.tag}> has no {name}", path=where, line=element.sourceline)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(
            f"<{element.tag}> {name}={text!r} is not a number", path=where, line=element.sourceline
        ) from None
    if not math.isfinite(value):
        raise FormatError(f"<{element.tag}> {name}={text!r} is not finite", path=where, line=element.sourceline)
    return value


def _flag_attribute(element: Any, values: dict[str, str], name: str, where: str) -> bool:
    text = (values.get(name) or "0").strip().lower()
    if text in ("0", "false", ""):
        return False
    if text in ("1", "true"):
        return True
    raise FormatError(f"<{element.tag}> {name}={text!r} is not 0 or 1", path=where, line=element.sourceline)


def _points(element: Any, values: dict[str, str], where: str) -> np.ndarray:
    text = values.get("points")
    if text is None:
        raise FormatError(f"<{element.tag}> has no points", path=where, line=element.sourceline)
    pairs = [pair for pair in text.split(";") if pair.strip()]
    points = np.empty((len(pairs), 2), dtype=np.float64)
    for index, pair in enumerate(pairs):
        coordinates = pair.split(",")
        try:
            if len(coordinates) != 2:
                raise ValueError
            points[index] = (float(coordinates[0]), float(coordinates[1]))
        except ValueError:
            raise FormatError(
                f"<{element.tag}> point {pair.strip()!r} is not 'x,y'", path=where, line=element.sourceline
            ) from None
    if not len(points) or not np.isfinite(points).all():
        raise FormatError(
            f"<{element.tag}> points {text!r} are empty or not finite", path=where, line=element.sourceline
        )
    return points


def _typed_value(name: str, text: str) -> Any:
    """Well-known columns written by other formats read back with their type; anything else stays text."""
    if name in _BOOL_ATTRIBUTES:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes"):
            return True
        if lowered in ("0", "false", "no"):
            return False
        return text
    if name in _FLOAT_ATTRIBUTES:
        try:
            return float(text)
        except ValueError:
            return text
    if name == TRACK_ID:  # written by a video read: an int, as CVAT numbers tracks
        try:
            return int(text)
        except ValueError:
            return text
    return text


@dataclass
class _Shape:
    box: tuple[float, float, float, float]
    label_id: int
    polygon: np.ndarray | None
    occluded: bool
    z_order: int
    group: int
    rotation: float | None
    free: dict[str, Any]
    tag: str = "box"
    keypoints: np.ndarray | None = None  # a <points> or <skeleton> shape's (K, 3) points


def _read_shape(element: Any, where: str, label_map: LabelMap, size: tuple[int | None, int | None]) -> _Shape:
    values = dict(element.attrib)
    label = values.get("label")
    if label is None:
        raise FormatError(f"<{element.tag}> has no label", path=where, line=element.sourceline)
    polygon = None
    free: dict[str, Any] = {}
    if element.tag == "box":
        box = (
            _float_attribute(element, values, "xtl", where),
            _float_attribute(element, values, "ytl", where),
            _float_attribute(element, values, "xbr", where),
            _float_attribute(element, values, "ybr", where),
        )
    else:
        polygon = _points(element, values, where)
        low, high = polygon.min(axis=0), polygon.max(axis=0)
        box = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
        if element.tag == "polyline":
            free[SHAPE] = POLYLINE  # an open line: its points in polygons, written back as <polyline>

    def fail(index: int, message: str) -> FormatError:
        return FormatError(f"<{element.tag}>: {message}", path=where, line=element.sourceline)

    checked = checked_boxes(np.array([box], dtype=np.float64), *size, fail)  # raises, or clips under --clip
    box = tuple(float(value) for value in checked[0])  # type: ignore[assignment]
    if polygon is not None:
        polygon = clipped_points(polygon, *size)
    rotation = None
    if values.get(ROTATION) is not None:
        rotation = _float_attribute(element, values, ROTATION, where)
    free = _free_attributes(element, where) | free  # the polyline marker above wins over a CVAT attribute "shape"
    return _Shape(
        box=box,
        label_id=label_map.get_or_add(label) if label else 0,  # label="": an unlabeled object (id 0, no entry)
        polygon=polygon,
        occluded=_flag_attribute(element, values, "occluded", where),
        z_order=_int_attribute(element, values, "z_order", where, 0) or 0,
        group=_int_attribute(element, values, "group_id", where, 0) or 0,
        rotation=rotation,
        free=free,
    )


def _free_attributes(element: Any, where: str) -> dict[str, Any]:
    free: dict[str, Any] = {}
    for child in element:
        if child.tag != "attribute":
            continue
        name = child.get("name")
        if name is None:
            raise FormatError("<attribute> has no name", path=where, line=child.sourceline)
        free[name] = _typed_value(name, child.text or "")
    return free


def _read_keypoint_shape(element: Any, where: str, label_map: LabelMap, size: tuple[int | None, int | None]) -> _Shape:
    """A ``<points>`` or ``<skeleton>``: an object with keypoints, its box around the labeled points."""
    values = dict(element.attrib)
    label = values.get("label")
    if label is None:
        raise FormatError(f"<{element.tag}> has no label", path=where, line=element.sourceline)
    label_id = label_map.get_or_add(label) if label else 0
    points = read_points(element, label_map, label_id, where) if label_id else None

    def fail(index: int, message: str) -> FormatError:
        return FormatError(f"<{element.tag}>: {message}", path=where, line=element.sourceline)

    around = keypoints.box_around(points) if points is not None else (0.0, 0.0, 0.0, 0.0)
    box = tuple(float(value) for value in checked_boxes(np.array([around]), *size, fail)[0])
    labeled = points is not None and bool((points[:, 2] > 0).any())
    return _Shape(
        box=box,  # type: ignore[arg-type]
        label_id=label_id,
        polygon=None,
        occluded=_flag_attribute(element, values, "occluded", where),
        z_order=_int_attribute(element, values, "z_order", where, 0) or 0,
        group=_int_attribute(element, values, "group_id", where, 0) or 0,
        rotation=None,
        free=_free_attributes(element, where),
        tag=element.tag,
        keypoints=points if labeled else None,
    )


def _image_item(
    element: Any,
    where: str,
    label_map: LabelMap,
    locate: Callable[[str, str, int | None, int | None], ImageRef],
    default_subset: str,
    skipped: Counter[str],
) -> Item:
    values = dict(element.attrib)
    name = _checked_image_name(values.get("name"), where, element.sourceline)
    frame = _int_attribute(element, values, "id", where)
    width = _int_attribute(element, values, "width", where)
    height = _int_attribute(element, values, "height", where)
    subset = values.get("subset") or default_subset
    shapes = []
    for child in element:
        if child.tag in VIDEO_SHAPES:  # <box>, <polygon>, <polyline>
            shapes.append(_read_shape(child, where, label_map, (width, height)))
        elif child.tag in ("points", "skeleton"):
            shapes.append(_read_keypoint_shape(child, where, label_map, (width, height)))
        elif isinstance(child.tag, str):
            skipped[child.tag] += 1
    attributes: dict[str, Any] = {} if frame is None else {"frame": frame}
    shapes = merge_skeletons(shapes)
    return Item(item_id_from_name(name), locate(name, subset, width, height), _objects(shapes), subset, attributes)


def _objects(shapes: list[_Shape]) -> Objects:
    if not shapes:
        return Objects()
    columns: dict[str, list[Any] | np.ndarray] = {
        model.OCCLUDED: [shape.occluded for shape in shapes],
        model.Z_ORDER: [shape.z_order for shape in shapes],
        model.GROUP: [shape.group for shape in shapes],
    }
    if any(shape.rotation is not None for shape in shapes):
        columns[ROTATION] = [shape.rotation for shape in shapes]
    if any(shape.keypoints is not None for shape in shapes):
        columns[model.KEYPOINTS] = [shape.keypoints for shape in shapes]
    names = dict.fromkeys(name for shape in shapes for name in shape.free if name not in columns)
    for name in names:
        columns[name] = [shape.free.get(name) for shape in shapes]
    return Objects(
        boxes=np.array([shape.box for shape in shapes], dtype=np.float64),
        label_ids=np.array([shape.label_id for shape in shapes], dtype=np.int64),
        polygons=[[shape.polygon] if shape.polygon is not None else [] for shape in shapes],
        attributes=columns,
    )


def write(dataset: Dataset, path: str, *, save_images: bool | None = None) -> None:
    """Write ``dataset`` as CVAT for images 1.1: a folder, or a ``.zip`` when ``path`` ends with ``.zip``.

    The target appears only when the whole write succeeded. Images are copied byte for byte into
    ``images/<name>`` when ``save_images``; not given, they are when the input carries image bytes in hand
    (records, zips) and not when its images are files beside the annotations (counted as a loss).

    Example:
        >>> import os, tempfile
        >>> items = [Item("a", ImageRef("a.jpg", width=8, height=6), Objects.from_boxes([[1, 1, 4, 5]], [1]))]
        >>> target = os.path.join(tempfile.mkdtemp(), "task.zip")
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), target)
        >>> read(target).label_map.names, [item.objects.boxes.tolist() for item in read(target)]
        (['cat'], [[[1.0, 1.0, 4.0, 5.0]]])
    """
    target = str(path)
    if save_images is None:
        save_images = embeds_images(dataset)
    if target.lower().endswith(".zip"):
        _write_zip(dataset, target, save_images)
    elif target.lower().endswith(".xml"):
        _write_xml_file(dataset, target, save_images)
    else:
        _write_folder(dataset, target, save_images)


def _write_xml_file(dataset: Dataset, target: str, save_images: bool) -> None:
    """``path`` ending in ``.xml``: that file, and the images (when saved) in ``images/`` beside it."""
    parent = None  # a URL target is built in the temp folder and uploaded
    if not is_url(target):
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
    with contextlib.ExitStack() as stack:
        save = None
        if save_images:  # put in place after the XML file (exits run last in, first out)
            folder = target.rpartition("/")[0] if is_url(target) else os.path.dirname(target)
            images = stack.enter_context(atomic_path(join_path(folder, IMAGES_FOLDER)))
            images.mkdir()
            save = _image_saver(images)

        out = stack.enter_context(atomic_file(target))
        body = stack.enter_context(tempfile.TemporaryFile(dir=parent, prefix=".tfodkit-cvat-body-"))
        state = write_body(dataset, body, save)
        write_document(out, body, dataset, state)


def _image_saver(images: Path) -> Callable[[Item, str], None]:
    """Saves an item's original image bytes as ``images/<name>``; two items naming one file is an error."""

    def save(item: Item, name: str) -> None:
        destination = images / checked_relative_name(name, "image name")
        if destination.exists():
            raise FormatError(f"item {item.id!r}: two items share the image name {name!r}")
        if not save_image(item.image, destination):
            raise FormatError(f"item {item.id!r}: its image has no bytes to save (write without --save-images)")

    return save


def _image_bytes(item: Item) -> bytes:
    if not item.image.has_bytes:
        raise FormatError(f"item {item.id!r}: its image has no bytes to save (write without --save-images)")
    return item.image.read()


def _write_folder(dataset: Dataset, target: str, save_images: bool) -> None:
    with atomic_path(target) as temp:
        temp.mkdir()
        save = _image_saver(temp / IMAGES_FOLDER)
        body_path = temp / ".annotations-body.xml"
        with open(body_path, "w+b") as body:
            state = write_body(dataset, body, save if save_images else None)
            with open(temp / ANNOTATIONS_XML, "wb") as out:
                write_document(out, body, dataset, state)
        body_path.unlink()


def _write_zip(dataset: Dataset, target: str, save_images: bool) -> None:
    parent = None  # a URL target is built in the temp folder and uploaded
    if not is_url(target):
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
    with (
        atomic_file(target) as raw,
        zipfile.ZipFile(raw, "w", allowZip64=True) as archive,
        tempfile.TemporaryFile(dir=parent, prefix=".tfodkit-cvat-body-") as body,
    ):

        def save(item: Item, name: str) -> None:
            member = f"{IMAGES_FOLDER}/{checked_relative_name(name, 'image name')}"
            if member in archive.NameToInfo:
                raise FormatError(f"item {item.id!r}: two items share the image name {name!r}")
            info = zipfile.ZipInfo(member, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED  # images are compressed already
            archive.writestr(info, _image_bytes(item))

        state = write_body(dataset, body, save if save_images else None)
        info = zipfile.ZipInfo(ANNOTATIONS_XML, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as out:
            write_document(out, body, dataset, state)
