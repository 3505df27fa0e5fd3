"""Pixels from shapes and shapes from pixels: polygon and box rasterization, contour tracing, COCO RLE.

Coordinates are absolute pixels with pixel ``(row r, column c)`` covering the square ``[c, c+1] x [r, r+1]``
(COCO's convention). Rasterization is COCO's reference, ``pycocotools`` (``frPyObjects`` → ``decode``), so a
mask made here equals the one the TF OD API's COCO tool and Datumaro's ``polygons_to_masks`` make.

- Polygons are rasterized by pycocotools itself (C code, to its run-length encoding; identical to the
  reference by construction, where Pillow's ``ImageDraw.polygon`` disagrees on edges: IoU down to ~0.92 on
  small objects, see bench/bench_masks.py). Its runs become the PNG directly (tfodkit.masks.png).
- Boxes use a closed form of pycocotools' rule (:func:`box_pixel_range`): exactly its pixels, no RLE round trip.
- :func:`array_to_polygons` traces pixel *edges* (vertices on pixel corners), so rasterizing its polygons with
  pycocotools gives back exactly the mask (holes excepted: COCO and CVAT polygons cannot hold them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfodkit.errors import FormatError
from tfodkit.masks.png import encode_mask_png, encode_mask_png_from_column_runs
from tfodkit.masks.rle import column_runs_from_rle_counts, rle_counts_from_string

# The source of a lazily rasterized mask: (kind, payload, height, width); see :func:`rasterize_source`.
MaskSource = tuple[str, Any, int, int]

# pycocotools' rleFrPoly works on a grid 5 times finer than the pixels.
_COCO_SCALE = 5
_CLIP_MARGIN = 1024


# --------------------------------------------------------------------------------------------- shapes -> pixels
# Masks are computed as vertical runs (columns, first_rows, stop_rows): what COCO's column-major RLE holds, and
# what tfodkit.masks.png writes without expanding the mask (see its docstring).
ColumnRuns = tuple[np.ndarray, np.ndarray, np.ndarray]


def polygons_to_runs(polygons: Sequence[Any], height: int, width: int) -> ColumnRuns:
    """The vertical runs of the union of ``polygons``, rasterized by pycocotools (``frPyObjects`` + ``merge``)."""
    from pycocotools import mask as coco_mask

    if height <= 0 or width <= 0:
        return _no_runs()
    flat = []
    for polygon in polygons:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1)
        # frPyObjects reads a 4-number list as a [x, y, w, h] box: only real polygons (>= 3 points) go in.
        if points.size < 6 or points.size % 2:
            continue
        if not np.isfinite(points).all():
            raise FormatError("a polygon has a coordinate that is not a finite number")
        flat.append(_within_reach(points.reshape(-1, 2), height, width).reshape(-1))
    flat = [points for points in flat if points.size >= 6]
    if not flat:
        return _no_runs()
    rles = coco_mask.frPyObjects(flat, int(height), int(width))
    rle = coco_mask.merge(rles) if len(rles) > 1 else rles[0]
    return column_runs_from_rle_counts(rle_counts_from_string(rle["counts"]), int(height))


def _within_reach(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """The polygon, clipped to the image plus a margin (the image's size, at least 1024 pixels) when it reaches
    further.

    pycocotools walks every 1/5-pixel step of every edge: one point at 1e9 would take it hours. Polygons
    within the margin (all real ones) are left untouched, so their pixels stay exactly pycocotools'; a clipped
    edge moves by less than a pixel's fraction (its new end is rounded to pycocotools' 1/5-pixel grid).
    """
    margin = max(height, width, _CLIP_MARGIN)
    low, high = -margin, (width + margin, height + margin)
    if points.min() >= low and points[:, 0].max() <= high[0] and points[:, 1].max() <= high[1]:
        return points
    return clip_polygon(points, (low, low, high[0], high[1]))


def clip_polygon(points: np.ndarray, window: tuple[float, float, float, float]) -> np.ndarray:
    """The part of a polygon inside the rectangle ``window = (xmin, ymin, xmax, ymax)`` (Sutherland-Hodgman).

    Example:
        >>> clip_polygon(np.array([[-5, 2], [5, 2], [5, 4], [-5, 4]]), (0, 0, 10, 10)).tolist()
        [[0.0, 2.0], [5.0, 2.0], [5.0, 4.0], [0.0, 4.0]]
    """
    xmin, ymin, xmax, ymax = window
    clipped = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    for axis, bound, keep_above in ((0, xmin, True), (0, xmax, False), (1, ymin, True), (1, ymax, False)):
        if len(clipped) == 0:
            break
        inside = clipped[:, axis] >= bound if keep_above else clipped[:, axis] <= bound
        kept: list[np.ndarray] = []
        previous, previous_inside = clipped[-1], bool(inside[-1])
        for point, point_inside in zip(clipped, inside.tolist(), strict=True):
            if point_inside != previous_inside:  # the edge crosses the bound: keep the crossing point
                share = (bound - previous[axis]) / (point[axis] - previous[axis])
                crossing = previous + share * (point - previous)
                crossing[axis] = bound
                kept.append(crossing)
            if point_inside:
                kept.append(point)
            previous, previous_inside = point, point_inside
        clipped = np.array(kept, dtype=np.float64).reshape(-1, 2)
    return clipped


def _no_runs() -> ColumnRuns:
    empty = np.zeros(0, dtype=np.int64)
    return empty, empty, empty


def polygons_to_array(polygons: Sequence[Any], height: int, width: int) -> np.ndarray:
    """The union of ``polygons`` (each ``(K, 2)`` points or flat ``[x0, y0, x1, y1, ...]``) as an ``(H, W)`` bool mask.

    Pixel for pixel what COCO's ``annToMask`` (pycocotools) gives; polygons of fewer than 3 points cover nothing.

    Example:
        >>> polygons_to_array([[[1, 1], [3, 1], [3, 2], [1, 2]]], 3, 4).astype(int).tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    return runs_to_array(polygons_to_runs(polygons, height, width), height, width)


def runs_to_array(runs: ColumnRuns, height: int, width: int) -> np.ndarray:
    """An ``(H, W)`` bool mask from vertical runs ``(columns, first_rows, stop_rows)``.

    Example:
        >>> runs_to_array((np.array([1]), np.array([0]), np.array([2])), 2, 2).astype(int).tolist()
        [[0, 1], [0, 1]]
    """
    columns, first_rows, stop_rows = runs
    # +1 where a column enters the mask, -1 where it leaves; the running sum down each column is the mask.
    steps = np.zeros((max(height, 0) + 1, max(width, 0)), dtype=np.int8)
    np.add.at(steps, (first_rows, columns), 1)
    np.add.at(steps, (stop_rows, columns), -1)
    return np.cumsum(steps[:-1], axis=0, dtype=np.int8).view(bool)


def box_pixel_range(start: float, end: float, size: int) -> tuple[int, int]:
    """The pixels ``[first, stop)`` a box side from ``start`` to ``end`` covers along an axis of ``size`` pixels.

    The closed form of pycocotools' rasterization of the box polygon: coordinates are rounded to a 1/5-pixel
    grid (``int(5 * v + 0.5)``) and pixel ``i`` is covered when the side crosses ``5 * i + 2.5`` on that grid,
    i.e. roughly when the pixel's centre ``i + 0.5`` lies inside. Integer sides cover ``[start, end)``.

    Example:
        >>> box_pixel_range(10, 20, 100), box_pixel_range(10.5, 20.5, 100), box_pixel_range(-3, 5, 4)
        ((10, 20), (11, 21), (0, 4))
    """
    low, high = sorted((_coco_grid(start), _coco_grid(end)))
    first = -((2 - low) // _COCO_SCALE)  # ceil((low - 2) / 5)
    stop = -((2 - high) // _COCO_SCALE)
    first = min(max(first, 0), size)
    stop = min(max(stop, first), size)
    return first, stop


def _coco_grid(value: float) -> int:
    # (int)(5 * v + .5) in C: truncation toward zero, as rleFrPoly does.
    return int(_COCO_SCALE * float(value) + 0.5)


def box_to_runs(box: Sequence[float] | np.ndarray, height: int, width: int) -> ColumnRuns:
    """The vertical runs of the box ``[xmin, ymin, xmax, ymax]`` (see :func:`box_pixel_range`)."""
    xmin, ymin, xmax, ymax = (float(value) for value in box)
    first_column, stop_column = box_pixel_range(xmin, xmax, width)
    first_row, stop_row = box_pixel_range(ymin, ymax, height)
    if first_row == stop_row or first_column == stop_column:
        return _no_runs()
    columns = np.arange(first_column, stop_column, dtype=np.int64)
    return columns, np.full_like(columns, first_row), np.full_like(columns, stop_row)


def box_to_array(box: Sequence[float] | np.ndarray, height: int, width: int) -> np.ndarray:
    """The pixels of the box ``[xmin, ymin, xmax, ymax]`` as an ``(H, W)`` bool mask, equal to pycocotools' raster.

    Example:
        >>> box_to_array([1, 0, 3, 2], 3, 4).astype(int).tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    xmin, ymin, xmax, ymax = (float(value) for value in box)
    mask = np.zeros((height, width), dtype=bool)
    first_column, stop_column = box_pixel_range(xmin, xmax, width)
    first_row, stop_row = box_pixel_range(ymin, ymax, height)
    mask[first_row:stop_row, first_column:stop_column] = True
    return mask


def rle_to_runs(rle: dict[str, Any]) -> ColumnRuns:
    """The vertical runs of a COCO RLE (``{"size": [h, w], "counts": str | bytes | list}``)."""
    height, width = (int(value) for value in rle["size"])
    counts = rle["counts"]
    values = np.asarray(counts, dtype=np.int64) if isinstance(counts, list) else rle_counts_from_string(counts)
    if values.sum() != height * width or (values < 0).any():
        raise ValueError(f"RLE counts add up to {int(values.sum())} pixels, not {height} x {width}")
    return column_runs_from_rle_counts(values, height)


def rle_to_array(rle: dict[str, Any]) -> np.ndarray:
    """A COCO RLE (``{"size": [h, w], "counts": str | bytes | list}``, compressed or not) as an ``(H, W)`` bool mask.

    Example:
        >>> rle_to_array({"size": [2, 2], "counts": [1, 2, 1]}).astype(int).tolist()
        [[0, 1], [1, 0]]
    """
    height, width = (int(value) for value in rle["size"])
    return runs_to_array(rle_to_runs(rle), height, width)


def array_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """An ``(H, W)`` mask as COCO compressed RLE ``{"size": [h, w], "counts": str}`` (what COCO JSON holds).

    Example:
        >>> array_to_rle(np.eye(2, dtype=bool))
        {'size': [2, 2], 'counts': '0120'}
    """
    from pycocotools import mask as coco_mask

    encoded = coco_mask.encode(np.asfortranarray(np.asarray(mask) != 0, dtype=np.uint8))
    return {"size": [int(value) for value in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def _source_runs(source: MaskSource) -> ColumnRuns | None:
    kind, payload, height, width = source
    if kind == "polygons":
        return polygons_to_runs(payload, height, width)
    if kind == "box":
        return box_to_runs(payload, height, width)
    if kind == "rle":
        return rle_to_runs(payload)
    if kind == "union":
        return None
    raise ValueError(f"unknown mask source kind {kind!r}")


def rasterize_source(source: MaskSource) -> np.ndarray:
    """Rasterize a lazy mask source ``(kind, payload, height, width)``; kinds: ``polygons`` (a list of ``(K, 2)``
    arrays), ``box`` (``[xmin, ymin, xmax, ymax]``), ``rle`` (a COCO RLE dict), ``union`` (a list of masks and
    polygon lists, see :func:`union_parts_to_array`).

    Example:
        >>> rasterize_source(("box", [0, 0, 1, 1], 2, 2)).astype(int).tolist()
        [[1, 0], [0, 0]]
    """
    runs = _source_runs(source)
    _, payload, height, width = source
    if runs is None:
        return union_parts_to_array(payload, height, width)
    return runs_to_array(runs, height, width)


def source_png(source: MaskSource) -> bytes:
    """The PNG (0/1, full size) of a lazy mask source, written from its runs without building the full mask.

    Example:
        >>> from tfodkit.model import decode_png_mask
        >>> decode_png_mask(source_png(("box", [0, 0, 1, 1], 2, 2))).astype(int).tolist()
        [[1, 0], [0, 0]]
    """
    runs = _source_runs(source)
    _, payload, height, width = source
    if runs is None:
        return encode_mask_png(union_parts_to_array(payload, height, width))
    return encode_mask_png_from_column_runs(*runs, height, width)


def union_parts_to_array(parts: Sequence[Any], height: int, width: int) -> np.ndarray:
    """The union of ``parts``: each a mask (anything with an ``.array``) or a list of polygons.

    Example:
        >>> union_parts_to_array([[[[0, 0], [1, 0], [1, 1], [0, 1]]], [[[1, 1], [2, 1], [2, 2], [1, 2]]]], 2, 2)
        array([[ True, False],
               [False,  True]])
    """
    union = np.zeros((height, width), dtype=bool)
    polygons: list[Any] = []
    for part in parts:
        if hasattr(part, "array"):
            pixels = part.array
            if pixels.shape != union.shape:
                raise FormatError(f"mask of shape {pixels.shape} in a union of shape {union.shape}")
            union |= pixels
        else:
            polygons.extend(part)
    if polygons:
        union |= polygons_to_array(polygons, height, width)
    return union


# --------------------------------------------------------------------------------------------- pixels -> shapes
def array_to_polygons(mask: np.ndarray, *, tolerance: float = 0.0) -> list[np.ndarray]:
    """The outer boundaries of the mask's 4-connected regions, as ``(K, 2)`` float64 polygons on pixel corners.

    Vertices are where the boundary turns, so ``polygons_to_array(array_to_polygons(m), h, w)`` equals ``m``
    exactly when ``m`` has no holes (holes are filled: COCO and CVAT polygons have none). Diagonal contacts
    split regions. ``tolerance > 0`` simplifies each polygon (Douglas-Peucker, in pixels): fewer points, not exact.
    Polygons are clockwise on screen (y down), largest first.

    Example:
        >>> [polygon.tolist() for polygon in array_to_polygons(np.array([[0, 1, 1], [0, 1, 1]], dtype=bool))]
        [[[1.0, 0.0], [3.0, 0.0], [3.0, 2.0], [1.0, 2.0]]]
    """
    pixels = np.asarray(mask) != 0
    if pixels.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {pixels.shape}")
    height, width = pixels.shape
    if not pixels.any():
        return []
    padded = np.pad(pixels, 1)
    inner = padded[1:-1, 1:-1]
    # Edges between a foreground pixel and a background neighbour, each merged into maximal straight runs.
    # Directions keep the foreground on the right (clockwise on screen): top edges go east, bottom edges west,
    # right edges south, left edges north.
    top_rows, top_first, top_stop = _runs(inner & ~padded[:-2, 1:-1])
    bottom_rows, bottom_first, bottom_stop = _runs(inner & ~padded[2:, 1:-1])
    left_columns, left_first, left_stop = _runs((inner & ~padded[1:-1, :-2]).T)
    right_columns, right_first, right_stop = _runs((inner & ~padded[1:-1, 2:]).T)

    stride = width + 1  # vertex key = y * (width + 1) + x, x in 0..width, y in 0..height
    # Horizontal runs: east (top edges) then west (bottom edges); start/end vertex keys and direction bit.
    h_start = np.concatenate([top_rows * stride + top_first, (bottom_rows + 1) * stride + bottom_stop])
    h_end = np.concatenate([top_rows * stride + top_stop, (bottom_rows + 1) * stride + bottom_first])
    h_west = np.concatenate([np.zeros(len(top_rows), np.int64), np.ones(len(bottom_rows), np.int64)])
    # Vertical runs: north (left edges) then south (right edges).
    v_start = np.concatenate([left_stop * stride + left_columns, right_first * stride + right_columns + 1])
    v_end = np.concatenate([left_first * stride + left_columns, right_stop * stride + right_columns + 1])
    v_south = np.concatenate([np.zeros(len(left_columns), np.int64), np.ones(len(right_columns), np.int64)])

    # Runs alternate horizontal / vertical around every boundary. Where two diagonal pixels touch, two runs
    # leave the same corner: turning right keeps each pixel's own boundary (4-connected regions).
    next_of_v = _follow(v_end, v_south, h_start, h_west)  # south -> west, north -> east
    next_of_h = _follow(h_end, 1 - h_west, v_start, v_south)  # east -> south, west -> north
    count_h = len(h_start)
    successor = np.concatenate([next_of_h + count_h, next_of_v]).tolist()
    starts = np.concatenate([h_start, v_start])
    xs = (starts % stride).astype(np.float64)
    ys = (starts // stride).astype(np.float64)

    polygons = []
    visited = bytearray(len(successor))
    for first in range(count_h):  # every boundary holds horizontal runs
        if visited[first]:
            continue
        cycle = []
        run = first
        while not visited[run]:
            visited[run] = 1
            cycle.append(run)
            run = successor[run]
        points = np.stack([xs[cycle], ys[cycle]], axis=1)
        if _signed_area(points) > 0:  # clockwise on screen: an outer boundary; holes run counter-clockwise
            polygons.append(points)
    if tolerance > 0:
        polygons = [simplify_polygon(polygon, tolerance) for polygon in polygons]
        polygons = [polygon for polygon in polygons if len(polygon) >= 3]
    polygons.sort(key=lambda polygon: -abs(_signed_area(polygon)))
    return polygons


def _runs(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of True along the rows of ``edges``: (row, first column, stop column), row-major order."""
    steps = np.diff(np.pad(edges, ((0, 0), (1, 1))).view(np.int8), axis=1)
    start_rows, firsts = np.nonzero(steps == 1)
    _, stops = np.nonzero(steps == -1)
    return start_rows.astype(np.int64), firsts.astype(np.int64), stops.astype(np.int64)


def _follow(ends: np.ndarray, preferred: np.ndarray, starts: np.ndarray, start_bits: np.ndarray) -> np.ndarray:
    """For each run ending at ``ends``, the index of the run starting there: the one whose direction bit is
    ``preferred`` when two start at that corner, else the only one."""
    keys = starts * 2 + start_bits
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wanted = ends * 2 + preferred
    other = ends * 2 + (1 - preferred)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    found = sorted_keys[at] == wanted
    at_other = np.minimum(np.searchsorted(sorted_keys, other), len(sorted_keys) - 1)
    if not np.all(found | (sorted_keys[at_other] == other)):
        raise AssertionError("broken boundary while tracing a mask")  # cannot happen on a 2-D bool array
    return order[np.where(found, at, at_other)]


def _signed_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def simplify_polygon(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of a closed polygon: drop points closer than ``tolerance`` to the outline.

    Example:
        >>> simplify_polygon(np.array([[0, 0], [1, 0.1], [2, 0], [2, 2], [0, 2]]), 0.5).tolist()
        [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) <= 3 or tolerance <= 0:
        return points
    # Split the ring at its first point and the point farthest from it; simplify both open chains.
    far = int(np.argmax(np.hypot(*(points - points[0]).T)))
    ring = np.concatenate([points, points[:1]])
    keep = np.zeros(len(ring), dtype=bool)
    keep[[0, far, len(ring) - 1]] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        segment = ring[last] - ring[first]
        offsets = ring[first + 1 : last] - ring[first]
        length = float(np.hypot(*segment))
        if length == 0:
            distances = np.hypot(offsets[:, 0], offsets[:, 1])
        else:
            distances = np.abs(segment[0] * offsets[:, 1] - segment[1] * offsets[:, 0]) / length
        farthest = int(np.argmax(distances))
        if distances[farthest] > tolerance:
            middle = first + 1 + farthest
            keep[middle] = True
            stack.extend([(first, middle), (middle, last)])
    return ring[:-1][keep[:-1]]


def array_box(mask: np.ndarray) -> np.ndarray | None:
    """The box ``[xmin, ymin, xmax, ymax]`` around the mask's pixels (pixel corners), or None when it is empty.

    Example:
        >>> array_box(np.array([[0, 0], [0, 1]], dtype=bool)).tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    pixels = np.asarray(mask) != 0
    rows = np.flatnonzero(pixels.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(pixels.any(axis=0))
    return np.array([columns[0], rows[0], columns[-1] + 1, rows[-1] + 1], dtype=np.float64)


def polygons_box(polygons: Sequence[Any]) -> np.ndarray | None:
    """The box ``[xmin, ymin, xmax, ymax]`` around all points of ``polygons``, or None when there are none.

    Example:
        >>> polygons_box([[[1, 2], [5, 3], [2, 7]]]).tolist()
        [1.0, 2.0, 5.0, 7.0]
    """
    arrays = [np.asarray(polygon, dtype=np.float64).reshape(-1, 2) for polygon in polygons]
    arrays = [points for points in arrays if len(points)]
    if not arrays:
        return None
    points = np.concatenate(arrays)
    return np.concatenate([points.min(axis=0), points.max(axis=0)])
