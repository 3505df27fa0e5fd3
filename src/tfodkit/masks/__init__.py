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

from typing import TYPE_CHECKING

from tfodkit._lazy import lazy_exports

# name -> submodule, imported on first use: tfodkit.model imports tfodkit.masks.mask, which runs this file, and a
# command that never touches a mask (tfod info) should not import the PNG and raster code.
_EXPORTS = {
    "Mask": "tfodkit.masks.mask",
    "empty_png_mask": "tfodkit.masks.features",
    "masks_from_numerical": "tfodkit.masks.features",
    "masks_from_png_list": "tfodkit.masks.features",
    "masks_to_numerical": "tfodkit.masks.features",
    "masks_to_png_list": "tfodkit.masks.features",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from tfodkit.masks.features import empty_png_mask as empty_png_mask
    from tfodkit.masks.features import masks_from_numerical as masks_from_numerical
    from tfodkit.masks.features import masks_from_png_list as masks_from_png_list
    from tfodkit.masks.features import masks_to_numerical as masks_to_numerical
    from tfodkit.masks.features import masks_to_png_list as masks_to_png_list
    from tfodkit.masks.mask import Mask as Mask
