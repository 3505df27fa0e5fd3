"""Kept so ``tfodkit.png`` imports keep working: the mask PNG writer lives in :mod:`tfodkit.masks.png`,
COCO RLE counts in :mod:`tfodkit.masks.rle`."""

from __future__ import annotations

from tfodkit.masks.png import (
    PNG_SIGNATURE,
    ZLIB_LEVEL,
    ZLIB_STRATEGY,
    encode_mask_png,
    encode_mask_png_from_column_runs,
    png_is_blank,
)
from tfodkit.masks.rle import (
    column_runs_from_rle_counts,
    rle_counts_from_string,
)

__all__ = [
    "PNG_SIGNATURE",
    "ZLIB_LEVEL",
    "ZLIB_STRATEGY",
    "column_runs_from_rle_counts",
    "encode_mask_png",
    "encode_mask_png_from_column_runs",
    "png_is_blank",
    "rle_counts_from_string",
]
