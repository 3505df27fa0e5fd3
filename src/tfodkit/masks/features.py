"""Instance masks in TFRecords: ``image/object/mask`` as PNG strings or as one float list, both directions.

The TF OD API decoder reads ``image/object/mask`` either as one PNG per object (``PNG_MASKS``: each string goes
through ``tf.image.decode_image``, then ``> 0``, and all are stacked, so every one must be a decodable image of
the record's full size) or as N·H·W floats (``NUMERICAL_MASKS``, ``> 0``).

The rule for records where only some objects have a mask (checked against TensorFlow 2.21 and Datumaro 1.13.12
in tests/interop/test_masks_interop.py):

- writing: every object gets an entry; an object without a mask gets an all-zero PNG of the full image size.
  An empty string (what Datumaro writes) makes TensorFlow's decoder fail on the whole record, and Datumaro's
  own importer fails on it when the mask is used; a 1x1 PNG breaks TF's stacking. A record where no object has
  a mask gets no ``image/object/mask`` key at all.
- reading: an empty string and an all-zero mask both mean "no mask" (None); any non-zero pixel is foreground.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from tfodkit.errors import FormatError
from tfodkit.masks.mask import Mask, decode_png_mask, encode_png_mask
from tfodkit.masks.png import png_is_blank


@lru_cache(maxsize=16)
def empty_png_mask(height: int, width: int) -> bytes:
    """The all-zero PNG of ``height`` x ``width`` written for objects without a mask (cached per size).

    Example:
        >>> from tfodkit.model import decode_png_mask
        >>> decode_png_mask(empty_png_mask(2, 3)).any()
        np.False_
    """
    return encode_png_mask(np.zeros((height, width), dtype=bool))


def masks_to_png_list(
    masks: Sequence[Mask | None], height: int, width: int, *, where: str | None = None
) -> list[bytes] | None:
    """The ``image/object/mask`` values for one record: a PNG per object, or None when no object has a mask.

    Objects without a mask get :func:`empty_png_mask`. A mask of another size than the image is a
    :class:`FormatError` (TensorFlow would fail on the record).

    Example:
        >>> pngs = masks_to_png_list([Mask.from_box([0, 0, 1, 1], 2, 2), None], 2, 2)
        >>> len(pngs), pngs[1] == empty_png_mask(2, 2)
        (2, True)
    """
    if not any(mask is not None for mask in masks):
        return None
    pngs = []
    for index, mask in enumerate(masks):
        if mask is None:
            pngs.append(empty_png_mask(height, width))
            continue
        if mask.shape != (height, width):
            raise FormatError(
                f"object {index}: mask of {mask.shape[1]}x{mask.shape[0]} pixels on an image of {width}x{height}",
                path=where,
            )
        pngs.append(mask.png)
    return pngs


def masks_from_png_list(
    values: Sequence[bytes],
    count: int,
    height: int,
    width: int,
    *,
    path: str | None = None,
    record_index: int | None = None,
) -> list[Mask | None]:
    """Masks from ``image/object/mask`` PNG strings: b"" and all-zero masks are None, any non-zero pixel is foreground.

    ``count`` is the number of objects; no values at all means no masks. Masks stay PNG bytes (decoded on first
    use, never re-encoded by a writer): telling an all-zero mask apart only inflates its data (see
    :func:`tfodkit.masks.png.png_is_blank`); PNGs of other kinds than 8-bit grey are decoded here.

    Example:
        >>> masks = masks_from_png_list([b"", Mask.from_box([0, 0, 1, 1], 2, 2).png], 2, 2, 2)
        >>> masks[0], int(masks[1].array.sum())
        (None, 1)
    """
    if len(values) == 0:
        return [None] * count
    if len(values) != count:
        raise FormatError(
            f"{len(values)} masks for {count} objects in image/object/mask", path=path, record_index=record_index
        )
    placeholder = empty_png_mask(height, width) if height > 0 and width > 0 else None
    masks: list[Mask | None] = []
    for index, png in enumerate(values):
        png = bytes(png)
        if not png or png == placeholder:  # Datumaro's empty entry, tfodkit's own all-zero placeholder
            masks.append(None)
            continue
        try:
            blank = png_is_blank(png)
            mask = Mask(png=png) if blank is not None else Mask(png=png, array=decode_png_mask(png))
        except (ValueError, FormatError) as error:
            message = error.message if isinstance(error, FormatError) else str(error)
            raise FormatError(
                f"object {index}: bad PNG mask: {message}", path=path, record_index=record_index
            ) from None
        size = mask.shape
        if height > 0 and width > 0 and size != (height, width):
            raise FormatError(
                f"object {index}: mask of {size[1]}x{size[0]} pixels on an image of {width}x{height}",
                path=path,
                record_index=record_index,
            )
        empty = blank if blank is not None else not mask.array.any()
        masks.append(None if empty else mask)
    return masks


def masks_to_numerical(masks: Sequence[Mask | None], height: int, width: int) -> np.ndarray:
    """The OD API's ``NUMERICAL_MASKS`` form: one float32 array of N·H·W values, 1.0 foreground, 0.0 elsewhere.

    Objects without a mask get zeros.

    Example:
        >>> masks_to_numerical([Mask.from_box([0, 0, 1, 1], 1, 2), None], 1, 2).tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    values = np.zeros((len(masks), height, width), dtype=np.float32)
    for index, mask in enumerate(masks):
        if mask is None:
            continue
        pixels = mask.array
        if pixels.shape != (height, width):
            raise FormatError(
                f"object {index}: mask of {pixels.shape[1]}x{pixels.shape[0]} pixels on an image of {width}x{height}"
            )
        values[index] = pixels
    return values.reshape(-1)


def masks_from_numerical(
    values: Sequence[float] | np.ndarray,
    count: int,
    height: int,
    width: int,
    *,
    path: str | None = None,
    record_index: int | None = None,
) -> list[Mask | None]:
    """Masks from the OD API's ``NUMERICAL_MASKS`` float list (N·H·W values, ``> 0`` is foreground).

    An empty list means no masks; all-zero masks are None, as for PNG masks.

    Example:
        >>> [None if mask is None else mask.array.tolist() for mask in masks_from_numerical([0, 1, 0, 0], 2, 1, 2)]
        [[[False, True]], None]
    """
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if flat.size == 0:
        return [None] * count
    if height <= 0 or width <= 0 or flat.size != count * height * width:
        raise FormatError(
            f"image/object/mask holds {flat.size} floats, not {count} objects x {height} x {width} pixels",
            path=path,
            record_index=record_index,
        )
    foreground = (flat > 0).reshape(count, height, width)
    return [Mask.from_array(pixels) if pixels.any() else None for pixels in foreground]
