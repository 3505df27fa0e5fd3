"""Kept so ``tfodkit.raster`` imports keep working: rasterization lives in :mod:`tfodkit.masks.raster`."""

from __future__ import annotations

from tfodkit.masks.raster import (
    ColumnRuns,
    MaskSource,
    array_box,
    array_to_polygons,
    array_to_rle,
    box_pixel_range,
    box_to_array,
    box_to_runs,
    clip_polygon,
    polygons_box,
    polygons_to_array,
    polygons_to_runs,
    rasterize_source,
    rle_to_array,
    rle_to_runs,
    runs_to_array,
    simplify_polygon,
    source_png,
    union_parts_to_array,
)

__all__ = [
    "ColumnRuns",
    "MaskSource",
    "array_box",
    "array_to_polygons",
    "array_to_rle",
    "box_pixel_range",
    "box_to_array",
    "box_to_runs",
    "clip_polygon",
    "polygons_box",
    "polygons_to_array",
    "polygons_to_runs",
    "rasterize_source",
    "rle_to_array",
    "rle_to_runs",
    "runs_to_array",
    "simplify_polygon",
    "source_png",
    "union_parts_to_array",
]
