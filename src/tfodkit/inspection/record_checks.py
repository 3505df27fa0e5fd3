"""The checks of one serialized detection record on its own (``tfod validate`` runs them, in worker processes
with ``--workers``): key types from the schema table in :mod:`tfodkit.formats.tfod_schema`, list lengths, boxes, labels,
the embedded image and masks. Each problem is ``(check, key, object index, message)``.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfodkit.errors import TfodError
from tfodkit.example import decode_example
from tfodkit.formats import tfod_schema as tfod
from tfodkit.inspection.keypoint_checks import check_keypoints
from tfodkit.model import LabelMap, image_format_of

# The kinds each detection key may have, from the schema table; image/object/mask may be PNG bytes or
# NUMERICAL_MASKS floats.
EXPECTED_KINDS: dict[str, tuple[str, ...]] = {entry.key: entry.kinds for entry in tfod.SCHEMA}
BOX_KEYS = tfod.BOX_KEYS
# Per-object lists whose length must be the box count (class/text may also be empty; masks are checked apart).
PER_OBJECT_KEYS = tuple(
    entry.key for entry in tfod.SCHEMA if entry.per_object and entry.key not in (tfod.XMIN, tfod.CLASS_TEXT, tfod.MASK)
)
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
NO_IMAGE_BYTES = "the record holds no image bytes: the OD API cannot train on it; export with --save-images"


@dataclass(frozen=True)
class RecordContext:
    """What a record check needs besides the record (picklable: it goes to worker processes)."""

    label_map: LabelMap | None
    decode_images: bool
    images_dir: str | None


# (check, key, object index, message)
Problem = tuple[str, str | None, int | None, str]


@dataclass
class RecordFacts:
    """What the cross-record checks need of one record."""

    filename: str = ""
    source_id: str = ""
    labels: list[tuple[str, int]] = field(default_factory=list)  # (class/text, class/label) pairs with both
    image_checked: bool = False


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "float" if value.dtype.kind == "f" else "int64"
    return "bytes"


def check_record(record: bytes, context: RecordContext) -> tuple[list[Problem], RecordFacts]:
    """The problems of one serialized record on its own, and the facts the cross-record checks need."""
    problems: list[Problem] = []
    facts = RecordFacts()
    try:
        features = decode_example(record)
    except TfodError as error:
        where = "" if error.offset is None else f" (at byte {error.offset} of the record)"
        return [("decode", None, None, f"{error.message}{where}")], facts

    usable: dict[str, Any] = {}
    for key, value in features.items():
        expected = EXPECTED_KINDS.get(key)
        empty = isinstance(value, list) and not value  # an empty list has no telling type
        if expected is not None and not empty and _kind(value) not in expected:
            problems.append(("key_type", key, None, f"is a {_kind(value)} list; expected {' or '.join(expected)}"))
        else:
            usable[key] = value

    facts.filename = _text(usable.get(tfod.FILENAME))
    facts.source_id = _text(usable.get(tfod.SOURCE_ID))
    height = _positive_int(usable, tfod.HEIGHT, features, problems)
    width = _positive_int(usable, tfod.WIDTH, features, problems)
    count = _check_lists(usable, problems)
    if count is not None:
        _check_boxes(usable, count, problems)
        _check_labels(usable, count, context.label_map, problems, facts)
        problems.extend(check_keypoints(usable, count))
    for key in ("image/object/area", "image/object/weight"):
        values = usable.get(key)
        if isinstance(values, np.ndarray):
            for index in np.flatnonzero(~np.isfinite(values)).tolist():
                problems.append(("nan", key, index, f"is {values[index]}"))
    _check_image(usable, width, height, context, problems, facts)
    if count is not None:
        _check_masks(usable, count, width, height, context.decode_images, problems)
    return problems, facts


def _text(values: Any) -> str:
    if isinstance(values, list) and values:
        return values[0].decode("utf-8", "replace")
    return ""


def _positive_int(usable: dict[str, Any], key: str, features: dict[str, Any], problems: list[Problem]) -> int | None:
    values = usable.get(key)
    if values is None or len(values) == 0:
        if key not in features or key in usable:  # absent, or present and empty (a wrong type is reported already)
            problems.append(("missing_key", key, None, "is absent" if key not in features else "is empty"))
        return None
    value = int(values[0])
    if value <= 0:
        problems.append(("image_size", key, None, f"is {value}"))
        return None
    return value


def _check_lists(usable: dict[str, Any], problems: list[Problem]) -> int | None:
    """The number of objects, or None when the box lists cannot tell it; reports lists of other lengths."""
    present = [key for key in BOX_KEYS if key in usable]
    if not present:
        if tfod.CLASS_LABEL not in usable and tfod.CLASS_TEXT not in usable:
            return 0
        _labels_only(usable, problems)
        return None
    if len(present) < 4:
        missing = [key for key in BOX_KEYS if key not in usable]
        problems.append(("missing_key", missing[0], None, f"is absent while {present[0]} is present"))
        return None
    count = len(usable[tfod.XMIN])
    consistent = True
    for key in PER_OBJECT_KEYS:
        if key in usable and len(usable[key]) != count:
            problems.append(
                ("list_length", key, None, f"has {len(usable[key])} values for {count} boxes ({tfod.XMIN})")
            )
            consistent = consistent and key not in BOX_KEYS and key != tfod.CLASS_LABEL
    texts = usable.get(tfod.CLASS_TEXT)
    if texts is not None and len(texts) not in (0, count):
        problems.append(
            ("list_length", tfod.CLASS_TEXT, None, f"has {len(texts)} values for {count} boxes ({tfod.XMIN})")
        )
        consistent = False
    return count if consistent else None


def _labels_only(usable: dict[str, Any], problems: list[Problem]) -> None:
    """Reports object labels in a record without boxes (the object count is then unknown)."""
    labels = max(len(usable.get(tfod.CLASS_LABEL, ())), len(usable.get(tfod.CLASS_TEXT, ())))
    if labels:
        problems.append(("missing_key", tfod.XMIN, None, f"no boxes, but {labels} object label(s)"))


def _check_boxes(usable: dict[str, Any], count: int, problems: list[Problem]) -> None:
    if not count:
        return
    boxes = np.stack([np.asarray(usable[key], dtype=np.float64) for key in BOX_KEYS], axis=1)
    finite = np.isfinite(boxes)
    for index in range(count):
        row = boxes[index]
        if not finite[index].all():
            key = BOX_KEYS[int(np.flatnonzero(~finite[index])[0])]
            problems.append(("nan", key, index, f"box {_box_text(row)}"))
            continue
        outside = np.flatnonzero((row < 0) | (row > 1))
        if outside.size:
            problems.append(
                ("box_range", BOX_KEYS[int(outside[0])], index, f"box {_box_text(row)} is not inside [0, 1]")
            )
        xmin, ymin, xmax, ymax = row.tolist()
        if xmin > xmax:
            problems.append(("box_order", tfod.XMIN, index, f"xmin {xmin:.6g} > xmax {xmax:.6g}"))
        if ymin > ymax:
            problems.append(("box_order", tfod.YMIN, index, f"ymin {ymin:.6g} > ymax {ymax:.6g}"))
        if xmin == xmax or ymin == ymax:
            problems.append(
                ("box_empty", tfod.XMIN if xmin == xmax else tfod.YMIN, index, f"box {_box_text(row)} has no area")
            )


def _box_text(row: np.ndarray) -> str:
    return "[" + ", ".join(f"{value:.6g}" for value in row.tolist()) + "] (xmin, ymin, xmax, ymax)"


def _check_labels(
    usable: dict[str, Any], count: int, label_map: LabelMap | None, problems: list[Problem], facts: RecordFacts
) -> None:
    texts = usable.get(tfod.CLASS_TEXT) or []
    numbers = usable.get(tfod.CLASS_LABEL)
    for index in range(count):
        text_bytes = texts[index] if index < len(texts) else b""
        number = int(numbers[index]) if numbers is not None and index < len(numbers) else None
        try:
            text = text_bytes.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(("label_unknown", tfod.CLASS_TEXT, index, f"{text_bytes!r} is not UTF-8 text"))
            continue
        if not text and number is None:
            problems.append(
                ("missing_key", tfod.CLASS_TEXT, index, "the object has neither class/text nor class/label")
            )
            continue
        if number is not None and number <= 0:
            problems.append(
                ("label_id", tfod.CLASS_LABEL, index, f"is {number}; object ids start at 1 (0 is background)")
            )
        if label_map is not None:
            if number is not None and number > 0 and number not in label_map:
                problems.append(("label_unknown", tfod.CLASS_LABEL, index, f"id {number} is not in the label map"))
            if text and label_map.id_of(text) is None:
                problems.append(("label_unknown", tfod.CLASS_TEXT, index, f"{text!r} is not in the label map"))
            if text and number is not None and number in label_map and label_map.id_of(text) is not None:
                if label_map.name_of(number) != text:
                    problems.append(
                        (
                            "label_mismatch",
                            tfod.CLASS_TEXT,
                            index,
                            f"{text!r} but class/label {number} is {label_map.name_of(number)!r} in the label map",
                        )
                    )
        if text and number is not None:
            facts.labels.append((text, number))


def _check_image(
    usable: dict[str, Any],
    width: int | None,
    height: int | None,
    context: RecordContext,
    problems: list[Problem],
    facts: RecordFacts,
) -> None:
    encoded_list = usable.get(tfod.ENCODED) or [b""]
    encoded = encoded_list[0]
    sha = _text(usable.get(tfod.SHA256)).strip().lower()
    declared_format = _text(usable.get(tfod.FORMAT)).strip().lower()
    if sha and hashlib.sha256(encoded).hexdigest() != sha:
        problems.append(
            (
                "sha256",
                tfod.SHA256,
                None,
                "does not match image/encoded" if encoded else "is set but image/encoded is empty",
            )
        )
    key = tfod.ENCODED
    if not encoded:
        # Every OD API decoder rejects an empty image/encoded ("Input is empty"): a finding even when --images
        # has the file (validate can then still check its size).
        path = os.path.join(context.images_dir, facts.filename) if context.images_dir and facts.filename else None
        found = path is not None and os.path.isfile(path)
        elsewhere = f"; {facts.filename!r} is not in {context.images_dir} either" if path and not found else ""
        problems.append(("image_missing", tfod.ENCODED, None, f"{NO_IMAGE_BYTES}{elsewhere}"))
        if path is None or not found:
            return
        with open(path, "rb") as file:
            encoded = file.read()
        key = tfod.FILENAME
    elif declared_format:
        actual = image_format_of(encoded)
        if actual and FORMAT_ALIASES.get(declared_format, declared_format) != actual:
            problems.append(("image_format", tfod.FORMAT, None, f"says {declared_format!r} but the bytes are {actual}"))
    facts.image_checked = True
    size = image_size_of(encoded, context.decode_images, key, problems)
    if size is not None and width is not None and height is not None and size != (width, height):
        problems.append(
            ("image_size", key, None, f"the image is {size[0]}x{size[1]}, the record says {width}x{height}")
        )


def image_size_of(encoded: bytes, decode: bool, key: str, problems: list[Problem]) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(encoded)) as image:
            size = image.size
            if decode:
                image.load()
        return size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        problems.append(("image_decode", key, None, f"cannot decode the image: {_image_error(error)}"))
        return None


def _image_error(error: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):  # its text names a BytesIO object's address
        return "not an image format Pillow can identify"
    return str(error) or type(error).__name__


def _check_masks(
    usable: dict[str, Any], count: int, width: int | None, height: int | None, decode: bool, problems: list[Problem]
) -> None:
    values = usable.get(tfod.MASK)
    if values is None or len(values) == 0:
        return
    if isinstance(values, np.ndarray):  # NUMERICAL_MASKS: N*H*W floats
        if width is not None and height is not None and values.size != count * width * height:
            problems.append(
                (
                    "mask_size",
                    tfod.MASK,
                    None,
                    f"holds {values.size} numbers; {count} masks of {width}x{height} need {count * width * height}",
                )
            )
        return
    if len(values) != count:
        problems.append(("list_length", tfod.MASK, None, f"has {len(values)} masks for {count} boxes"))
        return
    from PIL import Image, UnidentifiedImageError

    for index, png in enumerate(values):
        if not png:
            continue
        try:
            with Image.open(io.BytesIO(png)) as image:
                size = image.size
                if decode:
                    image.load()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            problems.append(("mask_decode", tfod.MASK, index, f"cannot decode the mask: {_image_error(error)}"))
            continue
        if width is not None and height is not None and size != (width, height):
            problems.append(
                ("mask_size", tfod.MASK, index, f"the mask is {size[0]}x{size[1]}, the image {width}x{height}")
            )
