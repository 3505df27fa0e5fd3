"""One box check for every reader: finite, not inverted, inside the image — or clipped to it under ``--clip``.

Readers call :func:`checked_boxes` with the boxes of one item and a ``fail(index, message)`` that builds the
error naming their file and place (XML line, YOLO line, record index, annotation id); the error goes through
:func:`tfodkit.tolerance.skip_or_raise` like any bad item, so ``--on-error skip`` skips the item and counts it.

Rules, the same for every format:

- a box with a NaN or infinite coordinate is an error;
- an inverted box (``xmin > xmax`` or ``ymin > ymax``) is an error, with or without ``--clip``: clipping cannot
  tell which corner is right;
- a box reaching outside the image by more than a small tolerance (``PIXEL_TOLERANCE`` pixels, or
  ``NORMALIZED_TOLERANCE`` for normalized boxes: float32 rounding and 2-decimal CVAT output stay inside) is an
  error; inside :func:`clipping_boxes` (``convert(clip=True)``, ``--clip``) it is clipped to the image and
  counted as the loss ``box_clipped``. A box wholly outside the image would clip to nothing: it stays an error.
- degenerate boxes (``xmin == xmax``) are kept: some tools write them for points, and no writer fails on them.

When the image size is unknown (a VOC file without ``<size>``), only the image's top-left corner is checked.

Example:
    >>> import numpy as np
    >>> from tfodkit.errors import FormatError
    >>> def fail(index, message):
    ...     return FormatError(f"object {index}: {message}", path="a.xml")
    >>> checked_boxes(np.array([[0.0, 0, 640, 480]]), 640, 480, fail).tolist()
    [[0.0, 0.0, 640.0, 480.0]]
    >>> checked_boxes(np.array([[10.0, 0, -50, 480]]), 640, 480, fail)
    Traceback (most recent call last):
    ...
    tfodkit.errors.FormatError: a.xml: object 0: xmin > xmax (10 > -50): an inverted box
    >>> with clipping_boxes():
    ...     checked_boxes(np.array([[10.0, 0, 5000, 480]]), 640, 480, fail).tolist()
    [[10.0, 0.0, 640.0, 480.0]]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import numpy as np

from tfodkit.errors import TfodError
from tfodkit.losses import report_loss

PIXEL_TOLERANCE = 0.01  # CVAT writes 2 decimals: a box at 640.004 on a 640 image is on the border
NORMALIZED_TOLERANCE = 1e-5  # float32 keeps ~7 digits: 1.0000001 is 1

CLIPPED_KIND = "box_clipped"
CLIPPED_MESSAGE = "boxes clipped to the image (--clip)"

Fail = Callable[[int, str], TfodError]  # (object index in the item, message) -> the reader's error with its place

_MODE: ContextVar[str] = ContextVar("tfodkit_box_mode", default="check")  # check | clip | keep


@contextlib.contextmanager
def clipping_boxes(enabled: bool = True) -> Iterator[None]:
    """Within the block, readers clip boxes that reach outside the image instead of failing (and count them)."""
    token = _MODE.set("clip" if enabled else "check")
    try:
        yield
    finally:
        _MODE.reset(token)


@contextlib.contextmanager
def keeping_boxes() -> Iterator[None]:
    """Within the block, readers give boxes as written, unchecked: for ``tfod validate``, which reports every
    bad box as a finding instead of stopping at the first."""
    token = _MODE.set("keep")
    try:
        yield
    finally:
        _MODE.reset(token)


def clipping() -> bool:
    """True inside :func:`clipping_boxes`: boxes outside the image are clipped, not errors."""
    return _MODE.get() == "clip"


def checked_boxes(
    boxes: np.ndarray,
    width: float | None,
    height: float | None,
    fail: Fail,
    *,
    normalized: bool = False,
) -> np.ndarray:
    """``boxes`` (``(N, 4)`` ``[xmin, ymin, xmax, ymax]``) checked against the image, clipped under ``--clip``.

    ``width``/``height`` are the image size in pixels (None or 0: unknown); with ``normalized=True`` the boxes
    are fractions of the image and the size is ignored. Raises ``fail(index, message)`` for the first bad box.
    """
    if len(boxes) == 0 or _MODE.get() == "keep":
        return boxes
    finite = np.isfinite(boxes).all(axis=1)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise fail(index, f"box {_text(boxes[index])} has a non-finite number")
    for low, high, names in ((0, 2, "xmin > xmax"), (1, 3, "ymin > ymax")):
        inverted = np.flatnonzero(boxes[:, low] > boxes[:, high])
        if inverted.size:
            index = int(inverted[0])
            raise fail(index, f"{names} ({boxes[index, low]:g} > {boxes[index, high]:g}): an inverted box")
    if normalized:
        limit_x: float | None = 1.0
        limit_y: float | None = 1.0
        tolerance = NORMALIZED_TOLERANCE
    else:
        limit_x, limit_y = (width or None), (height or None)
        tolerance = PIXEL_TOLERANCE
    outside = (boxes[:, 0] < -tolerance) | (boxes[:, 1] < -tolerance)
    if limit_x is not None:
        outside |= boxes[:, 2] > limit_x + tolerance
    if limit_y is not None:
        outside |= boxes[:, 3] > limit_y + tolerance
    if not outside.any():
        return boxes
    size = "the image" if normalized else f"the {_size_text(width, height)} image"
    if not clipping():
        index = int(np.flatnonzero(outside)[0])
        raise fail(index, f"box {_text(boxes[index])} reaches outside {size}; --clip clips it to the image")
    clipped = boxes.copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0.0, np.inf if limit_x is None else limit_x)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0.0, np.inf if limit_y is None else limit_y)
    had_area = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    vanished = outside & had_area & ((clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1]))
    if vanished.any():
        index = int(np.flatnonzero(vanished)[0])
        raise fail(index, f"box {_text(boxes[index])} lies wholly outside {size}: --clip cannot keep it")
    report_loss(CLIPPED_KIND, int(outside.sum()), CLIPPED_MESSAGE)
    return clipped


def clipped_points(points: np.ndarray, width: float | None, height: float | None) -> np.ndarray:
    """Polygon points (``(K, 2)`` pixels) moved inside the image under ``--clip`` (unchanged otherwise), so a
    polygon's box and its points still agree after :func:`checked_boxes` clipped the box."""
    if not clipping() or len(points) == 0:
        return points
    upper = [np.inf if not width else width, np.inf if not height else height]
    return np.clip(points, 0.0, upper)


def _text(box: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(value):g}" for value in box) + "]"


def _size_text(width: float | None, height: float | None) -> str:
    return f"{width or '?'}x{height or '?'}"
