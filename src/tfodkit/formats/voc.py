"""Pascal VOC: ``Annotations/*.xml``, ``JPEGImages/``, ``ImageSets/Main/<set>.txt`` — read and write.

Reading gives what the TF OD API's ``create_pascal_tf_record.py`` puts in its records: boxes exactly as the
XML holds them (VOC's 1-based pixel numbers, not shifted — the OD API divides ``xmin`` by the width as is),
the image size from the XML's ``<size>``, ``difficult``/``truncated``/``pose`` per object, and
``source_id`` = the file name. A VOC folder converted with ``tfodkit.formats.tfod`` therefore gives the
OD API script's records value for value.

Labels: with ``label_map`` given, a name missing from it is an error naming the XML file (as the OD API
script fails). Without one, ``label_map.pbtxt`` or Datumaro/CVAT's ``labelmap.txt`` in the folder is used
(names not in it are added); else the object names of all selected XML files are collected first (a cheap
pass, about 50 µs per file) and numbered 1..K in sorted order — for the 20 VOC classes that is exactly the
OD API's ``pascal_label_map.pbtxt``, and the ids do not depend on the order files are read in.

Each XML file is small and parsed whole with a hardened lxml parser (no entities, no network, no DTD);
the dataset itself is streamed file by file. The dataset may be a local folder or an fsspec URL
(``s3://bucket/VOCdevkit``): each XML file is then opened through fsspec when its item is read. Which items a
devkit holds (year folders, image set lists, subsets) is :mod:`tfodkit.formats._voc_layout`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tfodkit import keypoints, model
from tfodkit.boxes import checked_boxes
from tfodkit.errors import FormatError, TfodError, UsageError
from tfodkit.formats import LABEL_MAP, SAVE_IMAGES, Option
from tfodkit.formats._files import (
    checked_relative_name,
    checked_subset_name,
    image_file_name,
    label_map_option,
    save_image,
)
from tfodkit.formats._voc_layout import SETS, SETS_DIR, Folder, list_items, subfolders, year_folders
from tfodkit.losses import Tally, count_image_losses, count_shape_losses, report_loss, tallied
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.storage import as_path, atomic_path, is_dir, is_file, join_path, list_folder, open_binary
from tfodkit.tolerance import skip_or_raise

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (
    Option("year", str, help="VOC2007, VOC2012 or merged."),
    Option("set", str, help="Image set from ImageSets/Main (train, val, trainval, test)."),
    Option("annotations_dir", str, "Annotations", help="Annotations folder name (default Annotations)."),
    Option("ignore_difficult", bool, False, help="Skip difficult objects."),
    LABEL_MAP,
)
WRITE_OPTIONS = (SAVE_IMAGES.with_default(True),)

YEARS = ("VOC2007", "VOC2012", "merged")
IMAGES_DIR = "JPEGImages"
LABEL_MAP_NAME = "label_map.pbtxt"
LABELMAP_TXT = "labelmap.txt"  # Datumaro / CVAT label list: "name:color:parts:actions" per line

# Per-object elements VOC defines itself; other per-object values go to <attributes> (Datumaro's extension).
_NATIVE = frozenset({model.DIFFICULT, model.TRUNCATED, model.POSE, model.OCCLUDED})
# Types of well-known attributes read back from <attributes> text.
_BOOL_ATTRIBUTES = frozenset({model.IS_CROWD, model.GROUP_OF})
_FLOAT_ATTRIBUTES = frozenset({model.AREA, model.WEIGHT})
_INT_ATTRIBUTES = frozenset({model.Z_ORDER, model.GROUP})


# ---------------------------------------------------------------------------------------------- XML parsing
class _MissingAnnotation(FormatError):
    """The XML file of an id does not exist (an image set may list images that have none)."""


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from lxml import etree

    # Hardened: no entity expansion (billion laughs), no network, no DTD loading; one parser per process.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _parse_xml(path: str) -> Any:
    from lxml import etree

    try:
        with open_binary(path) as stream:
            root = etree.fromstring(stream.read(), _parser())
    except FileNotFoundError:
        raise _MissingAnnotation("annotation file not found", path=path) from None
    except etree.XMLSyntaxError as error:
        raise FormatError(f"not well-formed XML: {error.msg}", path=path, line=error.lineno) from None
    if root.tag != "annotation":
        raise FormatError(f"the root element is <{root.tag}>, expected <annotation>", path=path, line=root.sourceline)
    return root


def _children(element: Any) -> dict[str, Any]:
    """The first child of each tag: one pass over the children (lxml's find() costs ~10x more per lookup)."""
    found: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if tag not in found and isinstance(tag, str):  # comments and processing instructions have no str tag
            found[tag] = child
    return found


def _text(children: dict[str, Any], tag: str, element: Any, path: str, *, required: bool = False) -> str | None:
    child = children.get(tag)
    text = None if child is None else child.text
    if text is not None:
        text = text.strip()
    if not text:
        if required:
            raise FormatError(f"<{element.tag}> has no <{tag}>", path=path, line=element.sourceline)
        return None
    return text


def _number(children: dict[str, Any], tag: str, element: Any, path: str, *, required: bool = False) -> float | None:
    text = _text(children, tag, element, path, required=required)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"<{tag}> is {text!r}, not a number", path=path, line=children[tag].sourceline) from None
    if not math.isfinite(value):  # NaN/inf would reach int() and the writers (found by fuzz/fuzz_voc.py)
        raise FormatError(f"<{tag}> is {text!r}, not a finite number", path=path, line=children[tag].sourceline)
    return value


def _flag(children: dict[str, Any], tag: str, element: Any, path: str) -> bool | None:
    value = _number(children, tag, element, path)
    return None if value is None else bool(int(value))


def _typed_attribute(name: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        if name in _BOOL_ATTRIBUTES:
            return text.strip().lower() in ("1", "true", "yes")
        if name in _FLOAT_ATTRIBUTES:
            return float(text)
        if name in _INT_ATTRIBUTES:
            return int(float(text))
    except (ValueError, OverflowError):  # int(float("inf")) overflows
        return text
    return text


def _labels_from_folder(folder: Folder) -> LabelMap | None:
    pbtxt = folder / LABEL_MAP_NAME
    if pbtxt.is_file():
        from tfodkit.labelmap import read_label_map

        return read_label_map(str(pbtxt))
    listing = folder / LABELMAP_TXT
    if listing.is_file():
        names = []
        for line in listing.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name = line.split(":", 1)[0]
                if name != "background":  # VOC's class 0; the OD API's ids start at 1 with the first object class
                    names.append(name)
        return LabelMap.from_names(names)
    return None


def _scan_names(sources: Iterator[tuple[Folder, str, str]], annotations_dir: str) -> list[str]:
    names: set[str] = set()
    for folder, item_id, _subset in sources:
        path = str(folder / annotations_dir / f"{item_id}.xml")
        if not is_file(path):
            continue
        try:
            root = _parse_xml(path)
        except TfodError as error:  # --on-error skip: the item pass skips (and counts) this file again
            skip_or_raise(error)
            continue
        for element in root.iterfind("object/name"):  # one find per file: cheap enough
            if element.text and element.text.strip():
                names.add(element.text.strip())
    return sorted(names)


def read(
    path: str,
    *,
    year: str | None = None,
    set: str | None = None,  # noqa: A002 - the OD API's and the CLI's name for the image set
    annotations_dir: str = "Annotations",
    ignore_difficult: bool = False,
    label_map: str | LabelMap | None = None,
) -> Dataset:
    """Read a Pascal VOC dataset (a ``VOCdevkit`` root or one year folder, a local path or an fsspec URL such as
    ``s3://bucket/VOCdevkit``) as a streaming :class:`Dataset`.

    ``year``: ``VOC2007``, ``VOC2012`` or ``merged`` (both), or None for the folder itself / every year folder
    in it. ``set``: ``train``, ``val``, ``trainval`` or ``test`` from ``ImageSets/Main/<set>.txt`` (items get
    that subset); None reads every XML in ``annotations_dir`` with subsets from the ``ImageSets/Main`` lists.
    ``ignore_difficult`` drops difficult objects, as the OD API's ``--ignore_difficult_instances`` does.
    ``label_map``: a ``label_map.pbtxt`` path (or LabelMap); a name missing from it is a :class:`FormatError`.

    Example:
        >>> dataset = read("VOCdevkit", year="VOC2007", set="trainval")  # doctest: +SKIP
        >>> next(iter(dataset)).objects.attributes["difficult"]  # doctest: +SKIP
        [False, False]
    """
    image_set = set
    if image_set is not None and "/" in image_set:
        raise UsageError(f"--set must be a set name such as {', '.join(SETS)}, got {image_set!r}")
    root = as_path(path)
    folders = year_folders(root, year, annotations_dir)

    listing = functools.partial(list_items, folders, image_set, annotations_dir)
    count = sum(1 for _ in listing())  # a quick pass: folder listings and id lists, no XML read

    given = label_map_option(label_map)
    strict = given is not None
    labels = given if given is not None else _labels_from_folder(folders[0])
    if labels is None:
        labels = LabelMap.from_names(_scan_names(listing(), annotations_dir))
    return Dataset(
        functools.partial(_iterate, listing, annotations_dir, labels, strict, ignore_difficult),
        labels,
        name=folders[0].name if len(folders) == 1 else root.name,
        length=count,
    )


def _iterate(
    listing: Callable[[], Iterator[tuple[Folder, str, str]]],
    annotations_dir: str,
    labels: LabelMap,
    strict: bool,
    ignore_difficult: bool,
) -> Iterator[Item]:
    missing_images = 0
    folders: dict[Folder, tuple[str, str]] = {}  # year folder -> (annotations dir, images dir) as strings
    for folder, item_id, subset in listing():
        paths = folders.get(folder)
        if paths is None:
            paths = folders[folder] = (str(folder / annotations_dir), str(folder / IMAGES_DIR))
        xml_path = join_path(paths[0], f"{item_id}.xml")
        try:
            item = parse_annotation(
                xml_path,
                labels,
                item_id=item_id,
                images_dir=paths[1],
                subset=subset,
                strict_labels=strict,
                ignore_difficult=ignore_difficult,
            )
        except _MissingAnnotation:
            item = _image_only_item(xml_path, paths[1], item_id, subset)
        except TfodError as error:  # one bad XML file: --on-error skip counts it and goes on (tfodkit.tolerance)
            skip_or_raise(error)
            continue
        missing_images += item.image.path is None
        yield item
    report_loss(
        "image_missing",
        missing_images,
        "VOC annotation(s) have no image file in JPEGImages/; their items carry no image bytes",
    )


def parse_annotation(
    path: str,
    labels: LabelMap,
    *,
    item_id: str,
    images_dir: str,
    subset: str = "default",
    strict_labels: bool = True,
    ignore_difficult: bool = False,
) -> Item:
    """The :class:`Item` of one VOC XML file; labels are looked up in (or, unless strict, added to) ``labels``.

    Example:
        >>> item = parse_annotation("Annotations/000001.xml", LabelMap.from_names(["dog"]),
        ...                         item_id="000001", images_dir="JPEGImages")  # doctest: +SKIP
    """
    root = _parse_xml(path)
    top = _children(root)
    filename = _text(top, "filename", root, path) or f"{item_id}.jpg"
    width = height = None
    size = top.get("size")
    if size is not None:
        size_fields = _children(size)
        width = _number(size_fields, "width", size, path)
        height = _number(size_fields, "height", size, path)
    width = int(width) if width else None  # a 0 size (seen in the wild) means "unknown": read the header
    height = int(height) if height else None

    boxes: list[tuple[float, float, float, float]] = []
    lines: list[int | None] = []  # of each <object>, for box errors
    label_ids: list[int] = []
    difficult: list[bool] = []
    truncated: list[bool] = []
    poses: list[str | None] = []
    occluded: list[bool | None] = []
    extra: dict[str, list[Any]] = {}
    for element in root.iterchildren("object"):
        fields = _children(element)
        is_difficult = bool(_flag(fields, "difficult", element, path))
        if ignore_difficult and is_difficult:
            continue
        name = _text(fields, "name", element, path, required=True)
        assert name is not None
        label_id = labels.id_of(name)
        if label_id is None:
            if strict_labels:
                raise FormatError(f"label {name!r} is not in the label map", path=path, line=element.sourceline)
            label_id = labels.add(name)
        box = fields.get("bndbox")
        if box is None:
            raise FormatError("<object> has no <bndbox>", path=path, line=element.sourceline)
        corners = _children(box)
        coordinates = tuple(_number(corners, tag, box, path, required=True) for tag in ("xmin", "ymin", "xmax", "ymax"))
        index = len(boxes)
        boxes.append(coordinates)  # type: ignore[arg-type]
        lines.append(element.sourceline)
        label_ids.append(label_id)
        difficult.append(is_difficult)
        truncated.append(bool(_flag(fields, "truncated", element, path)))
        poses.append(_text(fields, "pose", element, path))
        occluded.append(_flag(fields, "occluded", element, path))
        attributes = fields.get("attributes")
        if attributes is not None:
            for attribute in attributes.iterchildren("attribute"):
                pair = _children(attribute)
                key = _text(pair, "name", attribute, path, required=True)
                assert key is not None
                column = extra.setdefault(key, [None] * index)
                column.extend([None] * (index - len(column)))
                column.append(_typed_attribute(key, _text(pair, "value", attribute, path)))
    count = len(boxes)
    columns: dict[str, list[Any] | np.ndarray] = {
        model.DIFFICULT: difficult,
        model.TRUNCATED: truncated,
        model.POSE: poses,
    }
    if any(value is not None for value in occluded):
        columns[model.OCCLUDED] = [bool(value) for value in occluded]
    for key, column in extra.items():
        columns[key] = column + [None] * (count - len(column))

    def fail(index: int, message: str) -> FormatError:
        return FormatError(f"<object>: {message}", path=path, line=lines[index])

    objects = Objects(
        boxes=checked_boxes(np.array(boxes, dtype=np.float64).reshape(-1, 4), width, height, fail),
        label_ids=np.array(label_ids, dtype=np.int64),
        attributes=columns,
    )

    image_path = _find_image(images_dir, filename, item_id)
    image = ImageRef(filename, path=image_path, width=width, height=height)
    return Item(item_id, image, objects, subset=subset, attributes={"source_id": filename})


def _image_only_item(xml_path: str, images_dir: str, item_id: str, subset: str) -> Item:
    """An item listed in an image set whose XML is missing: its image, no objects (else an error)."""
    from tfodkit.imagesize import read_header

    sub_folder, _, stem = item_id.rpartition("/")
    directory = join_path(images_dir, sub_folder) if sub_folder else images_dir
    names = [name for name, _ in list_folder(directory)] if is_dir(directory) else []
    found = sorted(name for name in names if os.path.splitext(name)[0] == stem)
    if not found:
        raise FormatError("annotation file not found, and no image for this id either", path=xml_path)
    image_path = join_path(directory, found[0])
    width, height = read_header(image_path).size
    name = f"{item_id}{os.path.splitext(found[0])[1]}"
    image = ImageRef(name, path=image_path, width=width, height=height)
    return Item(item_id, image, Objects(), subset=subset, attributes={"source_id": name})


def _find_image(images_dir: str, filename: str, item_id: str) -> str | None:
    try:  # a <filename> of "../../x" or "/etc/x" must not open a file outside the dataset
        candidate = join_path(images_dir, checked_relative_name(filename, "<filename>"))
    except FormatError:
        candidate = ""
    if candidate and is_file(candidate):
        return candidate
    # Exports that name the image differently from <filename> (or leave it out) still pair by id.
    extension = os.path.splitext(filename)[1] or ".jpg"
    candidate = join_path(images_dir, item_id + extension)
    return candidate if is_file(candidate) else None


def detect(path: str) -> bool:
    """True for a VOC year folder (``Annotations/`` with XML files) or a ``VOCdevkit`` root holding one (a local
    path or a URL)."""
    root = as_path(path)
    try:
        if not root.is_dir():
            return False
    except (OSError, ValueError):  # a URL whose store refuses the question (a bad bucket name…)
        return False

    def is_year_folder(folder: Folder) -> bool:
        annotations = folder / "Annotations"
        if not annotations.is_dir():
            return False
        if any(name.endswith(".xml") or is_folder for name, is_folder in list_folder(str(annotations))):
            return True
        return (folder / SETS_DIR).is_dir()

    try:
        return is_year_folder(root) or any(is_year_folder(child) for child in subfolders(root))
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------- writing
def format_coordinate(value: float) -> str:
    """A pixel coordinate as VOC text: an integer when it is one (within 1/1000 px: records hold float32),
    else the shortest decimal that reads back as the same float32.

    Example:
        >>> format_coordinate(47.99999952316284), format_coordinate(12.5), format_coordinate(-0.0)
        ('48', '12.5', '0')
    """
    nearest = round(value)
    if abs(value - nearest) <= 1e-3:
        return str(int(nearest))
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def _present(value: Any) -> bool:
    """False for a missing value: None, or NaN (how records hold a missing float)."""
    return value is not None and not (isinstance(value, (float, np.floating)) and math.isnan(value))


def _attribute_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def annotation_xml(item: Item, label_map: LabelMap, *, folder: str, filename: str, depth: int = 3) -> bytes:
    """The VOC XML of one item (UTF-8 bytes, pretty-printed).

    Example:
        >>> item = Item("a", ImageRef("a.jpg", width=4, height=3), Objects.from_boxes([[1, 1, 3, 2]], [1]))
        >>> b"<xmax>3</xmax>" in annotation_xml(item, LabelMap.from_names(["cat"]), folder="VOC", filename="a.jpg")
        True
    """
    from lxml import etree

    width, height = item.image.size
    root = etree.Element("annotation")
    etree.SubElement(root, "folder").text = folder
    etree.SubElement(root, "filename").text = filename
    size = etree.SubElement(root, "size")
    etree.SubElement(size, "width").text = str(int(width))
    etree.SubElement(size, "height").text = str(int(height))
    etree.SubElement(size, "depth").text = str(depth)
    objects = item.objects
    etree.SubElement(root, "segmented").text = "1" if objects.has_masks or objects.has_polygons else "0"

    difficult = objects.attribute(model.DIFFICULT, False)
    truncated = objects.attribute(model.TRUNCATED, False)
    poses = objects.attribute(model.POSE)
    occluded = objects.attribute(model.OCCLUDED) if model.OCCLUDED in objects.attributes else None
    # keypoints have no place in VOC (counted as keypoints_dropped by _count_losses)
    extra_names = [name for name in objects.attributes if name not in _NATIVE and name != model.KEYPOINTS]
    extra = {name: objects.attribute(name) for name in extra_names}
    for index, (box, label_id) in enumerate(zip(objects.boxes.tolist(), objects.label_ids.tolist(), strict=True)):
        name = label_map.name_of(label_id)
        if name is None:
            raise FormatError(f"item {item.id!r}: label id {label_id} is not in the label map")
        element = etree.SubElement(root, "object")
        etree.SubElement(element, "name").text = name
        etree.SubElement(element, "pose").text = "Unspecified" if poses[index] is None else str(poses[index])
        etree.SubElement(element, "truncated").text = "1" if truncated[index] else "0"
        etree.SubElement(element, "difficult").text = "1" if difficult[index] else "0"
        if occluded is not None:
            etree.SubElement(element, "occluded").text = "1" if occluded[index] else "0"
        bndbox = etree.SubElement(element, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
            etree.SubElement(bndbox, tag).text = format_coordinate(value)
        values = [(key, column[index]) for key, column in extra.items() if _present(column[index])]
        if values:
            attributes = etree.SubElement(element, "attributes")
            for key, value in values:
                attribute = etree.SubElement(attributes, "attribute")
                etree.SubElement(attribute, "name").text = key
                etree.SubElement(attribute, "value").text = _attribute_text(value)
    return etree.tostring(root, pretty_print=True, encoding="utf-8")


def _depth(image: ImageRef) -> int:
    from tfodkit.imagesize import read_header

    try:
        if image.data is not None:
            return read_header(image.data).channels
        if image.path is not None and is_file(image.path):
            return read_header(image.path).channels
    except FormatError:
        pass
    return 3


def format_labelmap_txt(label_map: LabelMap) -> str:
    """Datumaro / CVAT ``labelmap.txt``: a header, ``background`` first (VOC's class 0), then one name a line."""
    lines = ["# label:color_rgb:parts:actions"]
    if label_map.id_of("background") is None:
        lines.append("background:::")
    lines.extend(f"{name}:::" for name in label_map.names)
    return "\n".join(lines) + "\n"


def _count_losses(item: Item, tally: Tally, *, save_images: bool) -> None:
    # VOC holds every attribute (the others in Datumaro's <attributes>) but no polygon or mask.
    count_shape_losses(tally, item.objects, polygons=False, masks=False, target="voc")
    keypoints.count_dropped(tally, item.objects, "voc")
    count_image_losses(tally, item, save_images)


def write(dataset: Dataset, path: str, *, save_images: bool = True) -> None:
    """Write ``dataset`` as a Pascal VOC folder, atomically.

    Gives ``Annotations/<id>.xml``, ``JPEGImages/<id>.<ext>`` (the original bytes, copied, when
    ``save_images`` and the items have them), ``ImageSets/Main/<subset>.txt``, ``label_map.pbtxt`` and
    ``labelmap.txt`` (Datumaro/CVAT's label list). Difficult/truncated/pose/occluded come from the object
    attributes; other attributes go to Datumaro's ``<attributes>`` block.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "voc")
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), out, save_images=False)
        >>> sorted(os.listdir(out))
        ['Annotations', 'ImageSets', 'JPEGImages', 'label_map.pbtxt', 'labelmap.txt']
    """
    from tfodkit.labelmap import format_label_map

    folder_name = Path(path).name
    with atomic_path(path) as temp:
        annotations = temp / "Annotations"
        images = temp / IMAGES_DIR
        sets = temp / SETS_DIR
        for directory in (annotations, images, sets):
            directory.mkdir(parents=True, exist_ok=True)
        set_files: dict[str, Any] = {}
        try:
            for item in tallied(dataset, functools.partial(_count_losses, save_images=save_images)):
                item_id = checked_relative_name(item.id, "item id")
                filename = image_file_name(item)
                if save_images:
                    save_image(item.image, images / filename)
                depth = _depth(item.image)
                try:
                    xml = annotation_xml(item, dataset.label_map, folder=folder_name, filename=filename, depth=depth)
                except ValueError as error:  # lxml refuses text XML 1.0 cannot hold (control characters)
                    raise FormatError(f"item {item.id!r}: cannot be written as VOC XML: {error}") from None
                xml_path = annotations / f"{item_id}.xml"
                xml_path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with open(xml_path, "xb") as out:  # "x": an id seen twice (in two subsets) must not overwrite
                        out.write(xml)
                except FileExistsError:
                    raise FormatError(
                        f"item id {item.id!r} appears twice (subset {item.subset!r} too); "
                        "VOC has one annotation file per id"
                    ) from None
                subset = checked_subset_name(item.subset)
                if subset not in set_files:
                    set_files[subset] = open(sets / f"{subset}.txt", "w", encoding="utf-8")  # noqa: SIM115
                set_files[subset].write(item_id + "\n")
        finally:
            for stream in set_files.values():
                stream.close()
        (temp / LABEL_MAP_NAME).write_text(format_label_map(dataset.label_map), encoding="utf-8")
        (temp / LABELMAP_TXT).write_text(format_labelmap_txt(dataset.label_map), encoding="utf-8")
