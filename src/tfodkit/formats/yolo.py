"""YOLO, both layouts people use — read and write.

- **darknet** (AlexeyAB darknet, CVAT "YOLO 1.1", Datumaro ``yolo``): ``obj.data`` (``classes = N``,
  ``train = data/train.txt``, ``valid = …``, ``names = data/obj.names``), ``obj.names`` (one class a line),
  ``<subset>.txt`` listing image paths, and one ``.txt`` per image beside it. Paths are relative to darknet's
  working folder, where the dataset is ``data/``: ``data/obj_train_data/1.jpg`` is found as
  ``<dataset>/obj_train_data/1.jpg``.
- **labels folders** (Ultralytics' and Datumaro's ``yolo`` loose layouts, no ``data.yaml``): a names file
  (``obj.names``, ``classes.txt`` or ``classes.names``, one class a line) beside ``labels/`` (or
  ``annotations/``) and the images: ``labels/<subset>/a.txt`` is the label of ``<folder>/<subset>/a.<ext>``
  (``images/train/a.jpg``), ``labels/a.txt`` of ``<folder>/a.<ext>`` (subset ``default``). Every image is an
  item (one without a label file has no objects); a label file without its image is a bad item.
- **Ultralytics**: ``data.yaml`` (``names`` as a list or ``{0: name}``; ``path``; ``train``/``val``/``test`` as
  folders, ``.txt`` lists or lists of those), ``images/<split>/``, ``labels/<split>/`` (the label of
  ``…/images/…/a.jpg`` is ``…/labels/…/a.txt``).

A label line is ``class cx cy w h``, normalized by the image size (Ultralytics segment lines,
``class x1 y1 x2 y2 …``, are read as a polygon and its box). Class ``k`` is the label-map id ``k + 1``; the
writer numbers classes 0.. in label-map order. Image sizes come from the image headers (no pixel decoding).
The dataset may be a local folder or an fsspec URL (``s3://bucket/yolo``): lists, labels and image headers
are then read through fsspec one file at a time (a header read fetches only its first bytes).
Crowd regions (``is_crowd``) are not written — YOLO has no ignore regions, and training on them would
teach crowds as objects (Datumaro skips them too); the count is reported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from tfodkit import keypoints, model
from tfodkit.boxes import checked_boxes, clipped_points
from tfodkit.errors import FormatError, TfodError, UsageError
from tfodkit.formats import SAVE_IMAGES, Option
from tfodkit.formats._files import (
    checked_relative_name,
    checked_subset_name,
    image_extension,
    save_image,
)
from tfodkit.formats._yolo_pose import (
    PoseShape,
    count_cut,
    format_points,
    name_points,
    point_count,
    pose_shape,
    split_pose_line,
)
from tfodkit.losses import Tally, count_dropped_attributes, count_image_losses, count_shape_losses, tallied
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.storage import UrlPath, as_path, atomic_path, list_folder
from tfodkit.tolerance import skip_or_raise

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (
    Option(
        "layout",
        str,
        "auto",
        choices=("auto", "darknet", "ultralytics", "labels"),
        flag_name="--input-layout",
        help="YOLO input layout (default: told from the files).",
    ),
)
WRITE_OPTIONS = (
    Option("layout", str, "ultralytics", choices=("ultralytics", "darknet"), help="YOLO output layout."),
    SAVE_IMAGES.with_default(True),
)

LAYOUTS = ("auto", "darknet", "ultralytics", "labels")
NAMES_FILES = ("obj.names", "classes.txt", "classes.names")  # the names file of the labels-folders layout
LABEL_FOLDERS = ("labels", "Labels", "annotations", "Annotations")  # as Datumaro's yolo importer looks for them
LOOSE_SUBSET = "default"  # Datumaro's subset for labels/a.txt
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".jpe", ".dng", ".mpo"}
)
DARKNET_RESERVED = frozenset({"classes", "names", "backup", "eval", "results"})
# data.yaml keys that are not splits.
ULTRALYTICS_NOT_SPLITS = frozenset(
    {"path", "names", "nc", "download", "kpt_shape", "flip_idx", "channels", "yaml_file", "roboflow", "license"}
)
DEFAULT_SUBSET = "train"  # where items without a subset go (Datumaro does the same)
Location = Path | UrlPath  # a local path, or an fsspec URL


# ---------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class _Entry:
    subset: str
    item_id: str
    image_path: Location
    label_path: Location
    image_missing: bool = False  # a label file whose image was not found (labels-folders layout)


def _read_text(path: Location) -> str:
    """A UTF-8 text file of the dataset. Not UTF-8, a folder, no permission or a NUL in the name is a
    :class:`FormatError` naming it (found by fuzz/fuzz_yolo.py); a missing file raises FileNotFoundError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as error:
        raise FormatError(f"not UTF-8 text ({error.reason} at byte {error.start})", path=str(path)) from None
    except (OSError, ValueError) as error:
        raise FormatError(f"cannot read the file: {error}", path=str(path)) from None


def _data_prefix_stripped(text: str) -> str:
    path = text.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path[len("data/") :] if path.startswith("data/") else path


def _resolve_darknet(root: Location, text: str) -> Location:
    """A path from obj.data or a list, as darknet's working folder sees it (the dataset is its ``data/``)."""
    raw = text.strip()
    if os.path.isabs(raw):
        return Path(raw)
    for candidate in (root / raw, root / _data_prefix_stripped(raw), root.parent / raw):
        if candidate.exists():
            return candidate
    return root / _data_prefix_stripped(raw)


def _read_names(path: Location) -> list[str]:
    try:
        lines = _read_text(path).splitlines()
    except FileNotFoundError:
        raise FormatError("class names file not found", path=str(path)) from None
    return [line.strip() for line in lines if line.strip()]


def _parse_obj_data(path: Location) -> dict[str, str]:
    config: dict[str, str] = {}
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise FormatError(f"expected 'key = value', got {line!r}", path=str(path), line=number)
        config[key.strip()] = value.strip()
    return config


def _darknet_id(root: Location, image_path: Location) -> str:
    # "data/obj_train_data/a/1.jpg" -> "a/1": the path inside the subset folder, as Datumaro names items.
    try:
        parts = image_path.relative_to(root).with_suffix("").parts  # type: ignore[arg-type]
    except (ValueError, TypeError):  # TypeError: a local absolute path listed in a remote dataset
        return image_path.stem
    return "/".join(parts[1:] if len(parts) > 1 else parts)


def _label_beside_or_in_labels(image_path: Location) -> Location:
    beside = image_path.with_suffix(".txt")
    if beside.is_file():
        return beside
    swapped = _swap_images_for_labels(image_path)
    return swapped if swapped is not None and swapped.is_file() else beside


def _swap_images_for_labels(image_path: Location) -> Location | None:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, the extension ``.txt``."""
    parts = image_path.parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "images":
            above = image_path  # the folder holding that "images" (walked up to: a URL keeps its scheme)
            for _ in range(len(parts) - index):
                above = above.parent
            return (above / "labels" / "/".join(parts[index + 1 :])).with_suffix(".txt")
    return None


def _darknet_sources(root: Location, config_path: Location) -> tuple[list[str], list[_Entry]]:
    config = _parse_obj_data(config_path)
    names_path = _resolve_darknet(root, config["names"]) if "names" in config else root / "obj.names"
    names = _read_names(names_path)
    if "classes" in config:
        try:
            declared = int(config["classes"])
        except ValueError:
            raise FormatError(f"classes = {config['classes']!r} is not a number", path=str(config_path)) from None
        if declared != len(names):
            raise FormatError(
                f"classes = {declared} but {names_path.name} lists {len(names)} names", path=str(config_path)
            )
    entries: list[_Entry] = []
    for key, value in config.items():
        if key in DARKNET_RESERVED or not value.endswith(".txt"):
            continue
        listing = _resolve_darknet(root, value)
        if not listing.is_file():
            raise FormatError(f"the {key} list {value!r} is not found", path=str(config_path))
        for line in _read_text(listing).splitlines():
            if line.strip() and not line.strip().startswith("#"):
                image_path = _resolve_darknet(root, line)
                label_path = _label_beside_or_in_labels(image_path)
                entries.append(_Entry(key, _darknet_id(root, image_path), image_path, label_path))
    return names, entries


def _ultralytics_names(raw: Any, path: Location) -> list[str]:
    values = raw if isinstance(raw, list) else list(raw.values()) if isinstance(raw, dict) else []
    if not all(isinstance(value, (str, int, float)) for value in values):  # str() of nested YAML aliases is a bomb
        raise FormatError("names must be class names (strings), not lists or mappings", path=str(path))
    if isinstance(raw, list):
        return [str(name) for name in raw]
    if isinstance(raw, dict):
        try:
            indexed = {int(key): str(value) for key, value in raw.items()}
        except (TypeError, ValueError):
            raise FormatError("names keys must be class numbers 0, 1, …", path=str(path)) from None
        if sorted(indexed) != list(range(len(indexed))):
            raise FormatError(f"names must number the classes 0..{len(indexed) - 1} without gaps", path=str(path))
        return [indexed[index] for index in range(len(indexed))]
    raise FormatError("names must be a list or a {number: name} mapping", path=str(path))


def _images_under(folder: Location) -> list[Location]:
    """The images in ``folder`` and its sub-folders, in ``os.walk`` order with names sorted (links to folders are
    not entered)."""
    files: list[str] = []
    subfolders: list[str] = []
    for name, is_folder in list_folder(str(folder), follow_links=False):
        (subfolders if is_folder else files).append(name)
    found = [folder / name for name in sorted(files) if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS]
    for name in sorted(subfolders):
        found.extend(_images_under(folder / name))
    return found


def _ultralytics_id(image_path: Location, split_folder: Location | None) -> str:
    if split_folder is not None:
        return image_path.relative_to(split_folder).with_suffix("").as_posix()  # type: ignore[arg-type]
    parts = image_path.with_suffix("").parts
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        if len(parts) - index > 2:  # images/<split>/<name…>
            return "/".join(parts[index + 2 :])
    return image_path.stem


def _ultralytics_sources(config_path: Location) -> tuple[list[str], list[_Entry], PoseShape | None]:
    import yaml

    try:
        config = yaml.safe_load(_read_text(config_path))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise FormatError(
            f"not valid YAML: {error}", path=str(config_path), line=None if mark is None else mark.line + 1
        ) from None
    if not isinstance(config, dict) or "names" not in config:
        raise FormatError("no 'names' in the dataset YAML", path=str(config_path))
    names = _ultralytics_names(config["names"], config_path)
    try:
        declared = int(config["nc"]) if "nc" in config else len(names)
    except (TypeError, ValueError, OverflowError):  # nc: [1], nc: x, nc: .inf (found by fuzz/fuzz_yolo.py)
        raise FormatError(f"nc = {config['nc']!r} is not a number", path=str(config_path)) from None
    if declared != len(names):
        raise FormatError(f"nc = {config['nc']} but names lists {len(names)} classes", path=str(config_path))
    base = config_path.parent
    if config.get("path"):
        given = Path(str(config["path"]))
        candidate = given if given.is_absolute() else base / given
        base = candidate if candidate.is_dir() else base  # a dataset moved since it was written: use its folder
    entries: list[_Entry] = []
    for key, value in config.items():
        if key in ULTRALYTICS_NOT_SPLITS or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(part, str) for part in values):
            continue
        for part in values:
            target = Path(part) if os.path.isabs(part) else base / part
            if part.startswith("../") and not (target.is_dir() or target.is_file()):
                # Roboflow writes train: ../train/images beside the dataset's own train/ folder; Ultralytics
                # (check_det_dataset) then drops the "../" and resolves from the dataset root: so do we.
                target = base / part[3:]
            if target.is_dir():
                images = [(path, target) for path in _images_under(target)]
            elif target.is_file() and target.suffix == ".txt":
                images = []
                for line in _read_text(target).splitlines():
                    line = line.strip()
                    if line and not line.startswith("#"):
                        listed = Path(line) if os.path.isabs(line) else target.parent / line
                        images.append((listed, None))
            else:
                raise FormatError(f"the {key} split {part!r} is not found", path=str(config_path))
            for image_path, split_folder in images:
                label = _swap_images_for_labels(image_path) or image_path.with_suffix(".txt")
                entries.append(_Entry(str(key), _ultralytics_id(image_path, split_folder), image_path, label))
    return names, entries, pose_shape(config, str(config_path))


def _loose_parts(folder: Location) -> tuple[Location, Location] | None:
    """The names file and the labels folder of the labels-folders layout, when ``folder`` has both."""
    names = next((folder / name for name in NAMES_FILES if (folder / name).is_file()), None)
    labels = next((folder / name for name in LABEL_FOLDERS if (folder / name).is_dir()), None)
    return (names, labels) if names is not None and labels is not None else None


def _subset_and_key(relative: tuple[str, ...]) -> tuple[str, str]:
    """``("train", "a.jpg")`` -> ``("train", "a")``; ``("a.jpg",)`` -> ``("default", "a")``."""
    if len(relative) > 1:
        return relative[0], os.path.splitext("/".join(relative[1:]))[0]
    return LOOSE_SUBSET, os.path.splitext(relative[0])[0]


def _loose_sources(root: Location, names_path: Location, labels_dir: Location) -> tuple[list[str], list[_Entry]]:
    """Images under each folder of ``root`` but the labels folder (``images/<subset>/…``, ``images/…``) and under
    ``root`` itself, matched by subset and name to ``labels_dir/<subset>/….txt`` (``labels_dir/….txt``)."""
    names = _read_names(names_path)
    labels: dict[tuple[str, str], Location] = {}
    for path in _files_under(labels_dir):
        if path.suffix == ".txt":
            labels[_subset_and_key(tuple(path.relative_to(labels_dir).parts))] = path  # type: ignore[arg-type]
    entries: list[_Entry] = []
    seen: set[tuple[str, str]] = set()
    folders = [root] + [folder for folder in _subfolders(root) if folder.name not in LABEL_FOLDERS]
    for folder in folders:
        images = _images_under(folder) if folder != root else [path for path in _files_in(root) if _is_image(path)]
        for image_path in images:
            subset, key = _subset_and_key(tuple(image_path.relative_to(folder).parts))  # type: ignore[arg-type]
            if (subset, key) in seen:
                continue  # a.jpg and a.png: the first is the item (Datumaro keeps one too)
            seen.add((subset, key))
            label = labels.get((subset, key))
            if label is None:
                # where its label would be (not there: an image without objects); "a.v2" keeps its dot
                label = (labels_dir if subset == LOOSE_SUBSET else labels_dir / subset) / f"{key}.txt"
            entries.append(_Entry(subset, key, image_path, label))
    for (subset, key), label in labels.items():
        if (subset, key) not in seen:
            entries.append(_Entry(subset, key, label, label, image_missing=True))
    return names, entries


def _is_image(path: Location) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _subfolders(folder: Location) -> list[Location]:
    return [folder / name for name, is_folder in sorted(list_folder(str(folder), follow_links=False)) if is_folder]


def _files_in(folder: Location) -> list[Location]:
    return [folder / name for name, is_folder in sorted(list_folder(str(folder), follow_links=False)) if not is_folder]


def _files_under(folder: Location) -> list[Location]:
    found = _files_in(folder)
    for subfolder in _subfolders(folder):
        found.extend(_files_under(subfolder))
    return found


def _yaml_files(folder: Location) -> list[Location]:
    """The folder's ``*.yaml`` files, then its ``*.yml`` files, each sorted by name (glob order is the store's)."""
    files: list[Location] = []
    for pattern in ("*.yaml", "*.yml"):
        matches: Iterable[Location] = folder.glob(pattern)  # one element type for a Path-or-URL folder
        files.extend(sorted(matches, key=str))  # within one folder, the order Path's own comparison gives
    return files


def _find_config(path: Location, layout: str) -> tuple[str, Location]:
    if path.is_file():
        if path.suffix in (".yaml", ".yml"):
            return "ultralytics", path
        if path.suffix == ".data":
            return "darknet", path
        raise FormatError("expected a data.yaml, an obj.data or a dataset folder", path=str(path))
    if not path.is_dir():
        raise FormatError("no such file or folder", path=str(path))
    ultralytics = _yaml_files(path)
    preferred = [candidate for candidate in ultralytics if candidate.name in ("data.yaml", "dataset.yaml")]
    darknet = path / "obj.data"
    if layout in ("auto", "ultralytics") and (preferred or ultralytics):
        return "ultralytics", (preferred or ultralytics)[0]
    if layout in ("auto", "darknet") and darknet.is_file():
        return "darknet", darknet
    loose = _loose_parts(path) if layout in ("auto", "labels") else None
    if loose is not None:
        return "labels", loose[0]
    wanted = {
        "auto": "data.yaml, obj.data, or a names file (obj.names, classes.txt) and labels/",
        "ultralytics": "data.yaml",
        "darknet": "obj.data",
        "labels": "names file (obj.names, classes.txt) and labels/ folder",
    }[layout]
    raise FormatError(f"no {wanted} here", path=str(path))


# ---------------------------------------------------------------------------------------------- reading
def read(path: str, *, layout: str = "auto") -> Dataset:
    """Read a YOLO dataset (darknet or Ultralytics layout) as a streaming :class:`Dataset`.

    ``path`` is the dataset folder (or its ``data.yaml`` / ``obj.data``), a local path or an fsspec URL
    (``s3://bucket/yolo``); ``layout`` is ``auto``, ``darknet``
    or ``ultralytics``. Subsets are the list names (``train``, ``valid``, ``val``, ``test``).

    Example:
        >>> dataset = read("yolo_dataset")  # doctest: +SKIP
        >>> dataset.label_map.names  # doctest: +SKIP
        ['car', 'person']
    """
    if layout not in LAYOUTS:
        raise UsageError(f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    root = as_path(path)
    found_layout, config_path = _find_config(root, layout)
    shape = None  # kpt_shape of an Ultralytics pose dataset
    if found_layout == "darknet":
        names, entries = _darknet_sources(config_path.parent, config_path)
    elif found_layout == "labels":
        names_path, labels_dir = _loose_parts(config_path.parent) or (config_path, config_path)
        names, entries = _loose_sources(config_path.parent, names_path, labels_dir)
    else:
        names, entries, shape = _ultralytics_sources(config_path)
    labels = LabelMap.from_names(names)
    name_points(labels, shape)
    return Dataset(
        functools.partial(_iterate, entries, len(names), shape),
        labels,
        name=(root if root.is_dir() else root.parent).name,
        length=len(entries),
    )


def _iterate(entries: list[_Entry], class_count: int, shape: PoseShape | None = None) -> Iterator[Item]:
    from tfodkit.imagesize import read_header

    for entry in entries:
        try:
            if entry.image_missing:
                raise FormatError(
                    "a label file without its image (no image of that name in its subset)", path=str(entry.label_path)
                )
            if not entry.image_path.is_file():
                raise FormatError(
                    "image listed but not found (YOLO boxes need the image size)", path=str(entry.image_path)
                )
            width, height = read_header(str(entry.image_path)).size
            objects = parse_label_file(entry.label_path, width, height, class_count, shape)
        except TfodError as error:  # one bad image or label file: --on-error skip counts it and goes on
            skip_or_raise(error)
            continue
        name = entry.item_id + entry.image_path.suffix
        image = ImageRef(name, path=str(entry.image_path), width=width, height=height)
        yield Item(entry.item_id, image, objects, subset=entry.subset)


def parse_label_file(
    path: Location, width: int, height: int, class_count: int, shape: PoseShape | None = None
) -> Objects:
    """The objects of one YOLO label file (absolute pixel boxes); a missing file is an image without objects.

    ``shape`` is a pose dataset's ``kpt_shape``: each line is then a box and K points (see ``_yolo_pose``).

    Raises :class:`FormatError` with the file and line number for a malformed line or an unknown class.
    """
    try:
        text = _read_text(path)
    except FileNotFoundError:
        return Objects()
    boxes: list[list[float]] = []
    label_ids: list[int] = []
    lines: list[int] = []  # of each object, for box errors
    polygons: list[list[np.ndarray]] = []
    pose_points: list[np.ndarray | None] = []  # a pose dataset's keypoints, per line
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_index = int(fields[0])
            values = [float(value) for value in fields[1:]]
        except ValueError:
            raise FormatError(
                f"expected 'class cx cy w h' numbers, got {line.strip()!r}", path=str(path), line=number
            ) from None
        if not 0 <= class_index < class_count:
            raise FormatError(f"class {class_index} is not one of the {class_count} names", path=str(path), line=number)
        if shape is not None:  # a pose line: the box, then K points
            values, line_points = split_pose_line(values, shape, width, height, str(path), number)
            pose_points.append(line_points)
        if len(values) == 4:
            center_x, center_y, box_width, box_height = values
            boxes.append(
                [
                    (center_x - box_width / 2) * width,
                    (center_y - box_height / 2) * height,
                    (center_x + box_width / 2) * width,
                    (center_y + box_height / 2) * height,
                ]
            )
            polygons.append([])
        elif len(values) >= 6 and len(values) % 2 == 0:  # an Ultralytics segment: x1 y1 x2 y2 …
            points = np.array(values, dtype=np.float64).reshape(-1, 2) * [width, height]
            boxes.append([*points.min(axis=0).tolist(), *points.max(axis=0).tolist()])
            polygons.append([points])
        else:
            raise FormatError(
                f"expected 'class cx cy w h' (or a segment 'class x1 y1 x2 y2 x3 y3 …'), got {len(fields)} fields",
                path=str(path),
                line=number,
            )
        label_ids.append(class_index + 1)
        lines.append(number)

    def fail(index: int, message: str) -> FormatError:
        return FormatError(message, path=str(path), line=lines[index])

    # Checked in pixels (not normalized): the same tolerance as every other format (see tfodkit.boxes).
    checked = checked_boxes(np.array(boxes, dtype=np.float64).reshape(-1, 4), width, height, fail)
    polygons = [[clipped_points(points, width, height) for points in parts] for parts in polygons]
    attributes: dict[str, Any] = {model.KEYPOINTS: pose_points} if any(row is not None for row in pose_points) else {}
    return Objects(
        boxes=checked, label_ids=np.array(label_ids, dtype=np.int64), polygons=polygons, attributes=attributes
    )


def detect(path: str) -> bool:
    """True for a folder with ``obj.data`` or a ``data.yaml`` holding ``names`` (or such a file itself); local
    or a URL."""
    target = as_path(path)
    try:
        if target.is_file():
            return target.name == "obj.data" or (target.suffix in (".yaml", ".yml") and _yaml_has_names(target))
        if not target.is_dir():
            return False
        if (target / "obj.data").is_file():
            return True
        candidates = _yaml_files(target)
        if not any(_yaml_has_names(candidate) for candidate in candidates):
            return _loose_parts(target) is not None
    except (OSError, ValueError):
        if not isinstance(target, UrlPath):  # local errors stay errors; a store refusing the question is "not YOLO"
            raise
        return False
    return any(_yaml_has_names(candidate) for candidate in candidates)


def _yaml_has_names(path: Location) -> bool:
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return False
    return isinstance(config, dict) and "names" in config


# ---------------------------------------------------------------------------------------------- writing
def format_normalized(value: float) -> str:
    """A normalized coordinate as text: fixed point, 10 decimals at most, no trailing zeros.

    Example:
        >>> format_normalized(0.5), format_normalized(1 / 3), format_normalized(0.0)
        ('0.5', '0.3333333333', '0')
    """
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class _ClassIndex:
    """Label id -> 0-based class index, in label-map order (labels added while reading are appended)."""

    def __init__(self, label_map: LabelMap) -> None:
        self.label_map = label_map
        self.indices: dict[int, int] = {}

    def __call__(self, label_id: int) -> int:
        index = self.indices.get(label_id)
        if index is None:
            self.indices = {id: position for position, id in enumerate(self.label_map.ids)}
            index = self.indices.get(label_id)
            if index is None:
                raise FormatError(f"label id {label_id} is not in the label map")
        return index


def label_lines(item: Item, class_index: _ClassIndex, pose_count: int = 0) -> tuple[str, int]:
    """The label file text of one item, and the number of crowd regions left out (``pose_count``: K of a pose
    dataset, each line then ends with K points)."""
    width, height = item.image.size
    points = keypoints.column(item.objects)
    crowd = item.objects.attribute(model.IS_CROWD, False)
    lines = []
    skipped = 0
    boxes, label_ids = item.objects.boxes.tolist(), item.objects.label_ids.tolist()
    for box, label_id, is_crowd, rows in zip(boxes, label_ids, crowd, points, strict=True):
        if is_crowd:
            skipped += 1
            continue
        xmin, ymin, xmax, ymax = box
        values = ((xmin + xmax) / 2 / width, (ymin + ymax) / 2 / height, (xmax - xmin) / width, (ymax - ymin) / height)
        pose = format_points(rows, pose_count, width, height, format_normalized) if pose_count else []
        lines.append(" ".join([str(class_index(label_id)), *map(format_normalized, values), *pose]))
    return "".join(line + "\n" for line in lines), skipped


def write(dataset: Dataset, path: str, *, layout: str = "ultralytics", save_images: bool = True) -> None:
    """Write ``dataset`` as YOLO, atomically, in the ``ultralytics`` or ``darknet`` layout.

    Ultralytics: ``data.yaml``, ``images/<subset>/<id>.<ext>``, ``labels/<subset>/<id>.txt``. Darknet (CVAT's
    and Datumaro's layout): ``obj.data``, ``obj.names``, ``<subset>.txt``, ``obj_<subset>_data/<id>.<ext>``
    and ``.txt``. Images are the original bytes, copied. The ``default`` subset is written as ``train``.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "yolo")
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), out, save_images=False)
        >>> open(os.path.join(out, "labels", "train", "a.txt")).read()
        '0 0.25 0.25 0.5 0.5\\n'
    """
    if layout not in ("ultralytics", "darknet"):
        raise UsageError(f"--layout must be ultralytics or darknet for writing, got {layout!r}")
    class_index = _ClassIndex(dataset.label_map)
    pose_count = point_count(dataset.label_map) if layout == "ultralytics" else 0  # K of kpt_shape (0: no pose)
    with atomic_path(path) as temp:
        temp.mkdir(parents=True)
        lists: dict[str, IO[str]] = {}  # darknet: the open <subset>.txt image lists
        subsets: dict[str, None] = {}  # subsets in order of appearance
        try:
            count = functools.partial(_count_losses, save_images=save_images, pose_count=pose_count)
            for item in tallied(dataset, count):
                subset = checked_subset_name(DEFAULT_SUBSET if item.subset == "default" else item.subset)
                subsets[subset] = None
                if layout == "darknet" and subset in DARKNET_RESERVED:
                    raise FormatError(f"subset {subset!r} cannot be written in darknet YOLO: it is an obj.data key")
                item_id = checked_relative_name(item.id, "item id")
                image_name = item_id + image_extension(item.image)
                if layout == "ultralytics":
                    image_path = temp / "images" / subset / image_name
                    label_path = temp / "labels" / subset / f"{item_id}.txt"
                else:
                    image_path = temp / f"obj_{subset}_data" / image_name
                    label_path = temp / f"obj_{subset}_data" / f"{item_id}.txt"
                    if subset not in lists:
                        lists[subset] = open(temp / f"{subset}.txt", "w", encoding="utf-8")  # noqa: SIM115
                    lists[subset].write(f"data/obj_{subset}_data/{image_name}\n")
                if save_images:
                    save_image(item.image, image_path)
                text, _ = label_lines(item, class_index, pose_count)  # crowd regions left out: counted by _count_losses
                label_path.parent.mkdir(parents=True, exist_ok=True)
                label_path.write_text(text, encoding="utf-8")
        finally:
            for stream in lists.values():
                stream.close()
        names = dataset.label_map.names
        if layout == "ultralytics":
            _write_data_yaml(temp / "data.yaml", list(subsets), names, pose_count)
        else:
            (temp / "obj.names").write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
            config = [f"classes = {len(names)}"]
            config += [f"{subset} = data/{subset}.txt" for subset in subsets]
            config += ["names = data/obj.names", "backup = backup/"]
            (temp / "obj.data").write_text("\n".join(config) + "\n", encoding="utf-8")


def _count_losses(item: Item, tally: Tally, *, save_images: bool, pose_count: int = 0) -> None:
    # YOLO holds a class and a box per line: no polygon, mask, attribute, nor crowd region (left out).
    objects = item.objects
    crowd = {index for index, value in enumerate(objects.attribute(model.IS_CROWD, False)) if value}
    tally.add("crowd_not_written", "crowd regions (is_crowd) not written: YOLO has no ignore regions", len(crowd))
    written = objects.select([index not in crowd for index in range(len(objects))]) if crowd else objects
    count_shape_losses(tally, written, polygons=False, masks=False, target="yolo")
    kept = (model.IS_CROWD, model.KEYPOINTS) if pose_count else (model.IS_CROWD,)  # else keypoints_dropped
    count_dropped_attributes(tally, written.attributes, kept, "yolo")
    cut = count_cut(keypoints.column(written), pose_count) if pose_count else 0
    tally.add("keypoints_dropped", "objects' keypoints not written (more points than the labels name)", cut)
    count_image_losses(tally, item, save_images)


def _write_data_yaml(path: Path, subsets: list[str], names: list[str], pose_count: int = 0) -> None:
    import yaml

    config: dict[str, Any] = {subset: f"images/{subset}" for subset in subsets}
    config["nc"] = len(names)
    config["names"] = dict(enumerate(names))
    if pose_count:  # Ultralytics pose: K points of x, y, visibility on every label line
        config["kpt_shape"] = [pose_count, 3]
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
