"""Helpers the folder formats (VOC, COCO, YOLO) share: label-map options, safe names, image copies.

Writers copy the original image bytes (a file copy or the bytes in hand), never re-encode them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from tfodkit.errors import FormatError
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, image_format_of
from tfodkit.storage import is_url, read_bytes

# Extensions written for images whose name has none, by the format their bytes start with.
_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp"}


def label_map_option(label_map: str | os.PathLike[str] | LabelMap | None) -> LabelMap | None:
    """The ``label_map`` read option as a :class:`LabelMap`: a ``label_map.pbtxt`` path, a LabelMap, or None."""
    if label_map is None or isinstance(label_map, LabelMap):
        return label_map
    from tfodkit.labelmap import read_label_map

    return read_label_map(str(label_map))


def checked_relative_name(name: str, what: str) -> str:
    """``name`` as a safe relative POSIX path inside an output folder, else a :class:`FormatError`.

    Example:
        >>> checked_relative_name("train/000001", "item id")
        'train/000001'
    """
    text = str(name).replace("\\", "/")
    parts = PurePosixPath(text).parts
    if (
        not text
        or text.startswith("/")
        or (len(text) > 1 and text[1] == ":")
        or any(part in ("..", ".") for part in parts)
        or "\x00" in text
        or text != text.strip()
        or "\n" in text
    ):
        raise FormatError(f"{what} {name!r} cannot be used as a file name inside the output folder")
    return text


def image_extension(image: ImageRef) -> str:
    """The extension of the image's name (``.jpg``), else one from its bytes' signature, else ``.jpg``."""
    suffix = PurePosixPath(image.name.replace("\\", "/")).suffix
    if suffix:
        return suffix
    if image.data is not None:
        return _EXTENSIONS.get(image_format_of(image.data), ".jpg")
    if image.path is not None and not is_url(image.path):
        try:
            with open(image.path, "rb") as stream:
                return _EXTENSIONS.get(image_format_of(stream.read(16)), ".jpg")
        except OSError:
            pass
    return ".jpg"


def image_file_name(item: Item) -> str:
    """``<item id><extension>``: the name an item's image gets in a folder format."""
    return checked_relative_name(item.id, "item id") + image_extension(item.image)


def save_image(image: ImageRef, target: Path) -> bool:
    """Copy the image's original bytes to ``target`` (never re-encoded); False when the image has no bytes."""
    if not image.has_bytes:
        return False
    if target.exists():  # a fresh output folder: another item of this write already saved this name
        raise FormatError(f"two items share the image file name {target.name!r}; one would overwrite the other")
    target.parent.mkdir(parents=True, exist_ok=True)
    if image.data is not None:
        target.write_bytes(image.data)
    elif image.path is not None and not is_url(image.path):
        try:
            shutil.copyfile(image.path, target)
        except FileNotFoundError:
            raise FormatError("image file not found", path=image.path) from None
    else:
        target.write_bytes(read_bytes(image.path))  # type: ignore[arg-type]
    return True


def checked_subset_name(subset: str) -> str:
    """A subset name usable as a file name (``train``), else a :class:`FormatError`."""
    if not subset or subset in (".", "..") or any(char in subset for char in "/\\\x00\n"):
        raise FormatError(f"subset name {subset!r} cannot be a file name")
    return subset


def embeds_images(dataset: Dataset) -> bool:
    """Whether a writer whose ``save_images`` was not given embeds images: yes when the input carries image bytes
    in hand (records, a zip with ``image/encoded``), so nothing the input held is dropped; no when its images are
    only files beside the annotations (CVAT's own default). The first item decides.

    Example:
        >>> from tfodkit.model import ImageRef
        >>> embeds_images(Dataset([Item("a", ImageRef("a.jpg", data=b"\\xff\\xd8"))], LabelMap()))
        True
        >>> embeds_images(Dataset([Item("a", ImageRef("a.jpg", path="a.jpg"))], LabelMap()))
        False
    """
    first = next(iter(dataset), None)
    return first is not None and first.image.data is not None
