"""The instance mask object: PNG bytes, a boolean array, or a shape (polygons, box, COCO RLE) to rasterize lazily."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tfodkit._lazy import LazyModule
from tfodkit.errors import FormatError

if TYPE_CHECKING:
    import numpy as np
else:  # numpy is imported on first use: `tfod info` on a record file needs none (tfodkit._lazy)
    np = LazyModule("numpy", globals(), "np")


class Mask:
    """One instance mask of full image size, held as PNG bytes, as a boolean array, or as a shape to rasterize.

    PNG bytes read from a record are kept as they are, so a record → record conversion does not re-encode.
    Masks made from polygons, a box or a COCO RLE (:meth:`from_polygons`, :meth:`from_box`, :meth:`from_rle`,
    :meth:`union`) keep only that small source and rasterize on first use of ``.array`` or ``.png``: transforms
    attach them cheaply in the main process, and the writer's worker processes do the pixel work.

    Example:
        >>> mask = Mask.from_array(np.eye(3, dtype=bool))
        >>> Mask.from_png(mask.png).array.sum()
        np.int64(3)
        >>> lazy = Mask.from_box([0, 0, 2, 1], height=2, width=3)
        >>> lazy.is_rasterized, lazy.shape, int(lazy.array.sum()), lazy.is_rasterized
        (False, (2, 3), 2, True)
    """

    __slots__ = ("_png", "_array", "_source")

    def __init__(
        self,
        png: bytes | None = None,
        array: np.ndarray | None = None,
        *,
        source: tuple[str, Any, int, int] | None = None,
    ) -> None:
        if png is None and array is None and source is None:
            raise ValueError("a Mask needs PNG bytes, an array or a source to rasterize")
        self._png = png
        self._array = None if array is None else np.asarray(array, dtype=bool)
        self._source = source  # (kind, payload, height, width); see tfodkit.masks.raster.rasterize_source

    @classmethod
    def from_png(cls, png: bytes) -> Mask:
        return cls(png=png)

    @classmethod
    def from_array(cls, array: np.ndarray) -> Mask:
        return cls(array=array)

    @classmethod
    def from_polygons(cls, polygons: Sequence[Any], height: int, width: int) -> Mask:
        """The union of ``polygons`` (``(K, 2)`` absolute pixel points each), rasterized lazily as pycocotools does."""
        points = [np.asarray(polygon, dtype=np.float64).reshape(-1, 2) for polygon in polygons]
        return cls(source=("polygons", points, int(height), int(width)))

    @classmethod
    def from_box(cls, box: Sequence[float] | np.ndarray, height: int, width: int) -> Mask:
        """The pixels of ``[xmin, ymin, xmax, ymax]``, rasterized lazily exactly as pycocotools rasterizes the box."""
        return cls(source=("box", [float(value) for value in box], int(height), int(width)))

    @classmethod
    def from_rle(cls, rle: dict[str, Any]) -> Mask:
        """A COCO RLE (``{"size": [h, w], "counts": ...}``, compressed or not), decoded lazily."""
        height, width = (int(value) for value in rle["size"])
        return cls(source=("rle", dict(rle), height, width))

    @classmethod
    def union(cls, parts: Sequence[Any], height: int, width: int) -> Mask:
        """The lazy union of ``parts``: masks and polygon lists (``list[(K, 2) array]``)."""
        return cls(source=("union", list(parts), int(height), int(width)))

    @property
    def is_rasterized(self) -> bool:
        """False while the mask is only a source (polygons, box, RLE) not yet rasterized or encoded."""
        return self._png is not None or self._array is not None

    @property
    def source_polygons(self) -> list[np.ndarray] | None:
        """The polygons this mask was made from (:meth:`from_polygons`), else None."""
        if self._source is not None and self._source[0] == "polygons":
            return list(self._source[1])
        return None

    @property
    def array(self) -> np.ndarray:
        """``(H, W)`` bool array: any non-zero pixel is foreground (what the TF OD API decoder does)."""
        if self._array is None:
            if self._png is not None:
                self._array = decode_png_mask(self._png)
            else:
                from tfodkit.masks.raster import rasterize_source

                assert self._source is not None
                self._array = rasterize_source(self._source)
        return self._array

    @property
    def png(self) -> bytes:
        """PNG bytes, 0/1 pixel values (what the TF OD API's COCO tool writes)."""
        if self._png is None:
            if self._array is None and self._source is not None:
                from tfodkit.masks.raster import source_png

                self._png = source_png(self._source)  # straight from the shape's runs, no full-size array
            else:
                self._png = encode_png_mask(self.array)
        return self._png

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, without rasterizing or decoding when the source or PNG header tells it."""
        if self._array is None:
            if self._source is not None:
                return self._source[2], self._source[3]
            assert self._png is not None
            size = png_size(self._png)
            if size is not None:
                return size[1], size[0]
        height, width = self.array.shape
        return height, width

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mask) and np.array_equal(self.array, other.array)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self._png, self._array, self._source)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._png, self._array, self._source = state if len(state) == 3 else (*state, None)

    def __repr__(self) -> str:
        source = None if self._source is None else self._source[0]
        return f"Mask(png={self._png is not None}, array={self._array is not None}, source={source!r})"


def png_size(png: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's IHDR chunk, or None when ``png`` does not start like a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# Mask PNGs are 8-bit greyscale with 0/1 pixels (what the TF OD API's COCO tool writes), written by
# tfodkit.masks.png (zlib level 1). bench/bench_png.py, 640x480 COCO-like masks: 3.4x faster to encode than Pillow's
# mode "L" at level 1 (which tries every row filter on every row), same size, as fast to decode in Pillow,
# TensorFlow and OpenCV; mode "1" is not used: TensorFlow and OpenCV (Datumaro) decode 1-bit PNGs as 0/255.
PNG_MASK_MODE = "L"
PNG_MASK_COMPRESS_LEVEL = 1


def encode_png_mask(array: np.ndarray) -> bytes:
    """Encode a 2-D mask as an 8-bit greyscale PNG with 0/1 pixels."""
    from tfodkit.masks.png import encode_mask_png

    return encode_mask_png(array)


def decode_png_mask(png: bytes, where: str = "mask") -> np.ndarray:
    """Decode a PNG mask to a bool array; any non-zero pixel is foreground."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(png)) as opened:
            image = opened if opened.mode in ("1", "L", "P", "I", "I;16") else opened.convert("L")
            pixels = np.asarray(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise FormatError(f"cannot decode PNG mask: {error}", path=where) from None
    if pixels.ndim == 3:
        pixels = pixels.max(axis=2)
    return pixels != 0
