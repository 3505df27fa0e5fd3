"""Instance masks: the mask object, rasterization, the PNG and COCO RLE codecs, ``image/object/mask`` features.

One job per module: :mod:`~tfodkit.masks.mask` (the :class:`Mask` object, re-exported by :mod:`tfodkit.model`),
:mod:`~tfodkit.masks.raster` (shapes to pixels and back), :mod:`~tfodkit.masks.png` (the mask PNG writer),
:mod:`~tfodkit.masks.rle` (COCO RLE counts) and :mod:`~tfodkit.masks.features` (``image/object/mask`` as PNG
strings or floats).

Example:
    >>> import numpy as np
    >>> pngs = masks_to_png_list([Mask.from_array(np.eye(2, dtype=bool)), None], 2, 2)
    >>> masks = masks_from_png_list(pngs, 2, 2, 2)
    >>> [None if mask is None else int(mask.array.sum()) for mask in masks]
    [2, None]
"""

from __future__ import annotations

from tfodkit.masks.features import (
    empty_png_mask,
    masks_from_numerical,
    masks_from_png_list,
    masks_to_numerical,
    masks_to_png_list,
)
from tfodkit.masks.mask import Mask

__all__ = [
    "Mask",
    "empty_png_mask",
    "masks_from_numerical",
    "masks_from_png_list",
    "masks_to_numerical",
    "masks_to_png_list",
]
