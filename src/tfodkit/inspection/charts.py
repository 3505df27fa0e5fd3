"""PNG bar charts for ``tfod stats --plot DIR``, drawn with Pillow.

Why not matplotlib: the charts are plain bar charts, Pillow is already a core dependency, and matplotlib would
add ~40 MB of wheels and about a second of import time for four pictures. Charts are horizontal (category
names stay legible however long they are), one bar per series in each row, values written at the bar ends.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "chart.png")
    >>> bar_chart(path, "Objects per label", ["car", "person"], {"train": [10, 4], "val": [3, 1]})
    >>> from PIL import Image; Image.open(path).size[0]
    960
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tfodkit.inspection.preview import font_for, label_color, load_font
from tfodkit.storage import atomic_path, check_output

WIDTH = 960
MAX_ROWS = 60


def _nice_step(maximum: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``maximum``."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def _format(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:.3g}"


def bar_chart(
    path: str | os.PathLike[str],
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    note: str = "",
) -> None:
    """Write a horizontal grouped bar chart: one row per category, one bar per series in each row."""
    from PIL import Image, ImageDraw

    categories = list(categories)[:MAX_ROWS]
    names = list(series)
    values = {name: list(series[name])[: len(categories)] for name in names}
    title_font, small = load_font(20), load_font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    # category names (labels) may be in any script: each gets a font with its glyphs
    fonted = [font_for(category, 14) for category in categories]
    label_width = max([probe.textlength(text, font=face) for face, text in fonted] + [40])
    left = math.ceil(min(label_width, WIDTH * 0.4)) + 24
    right = 90
    bar = 14
    row = bar * len(names) + 10
    top = 44 + (22 if len(names) > 1 else 0) + (18 if note else 0)
    height = top + row * max(1, len(categories)) + 40
    image = Image.new("RGB", (WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=(20, 20, 20), font=title_font)
    if note:
        draw.text((16, 40), note, fill=(90, 90, 90), font=small)
    if len(names) > 1:
        x = 16
        for number, name in enumerate(names):
            draw.rectangle([x, top - 18, x + 12, top - 6], fill=label_color(number))
            draw.text((x + 16, top - 20), name, fill=(40, 40, 40), font=small)
            x += 36 + int(probe.textlength(name, font=small))
    maximum = max([max(column, default=0) for column in values.values()] + [0])
    step = _nice_step(maximum)
    axis_max = step * max(1, math.ceil(maximum / step)) if maximum > 0 else 1
    plot_width = WIDTH - left - right
    bottom = top + row * max(1, len(categories))
    tick = 0.0
    while tick <= axis_max + 1e-9:
        tick_x = left + plot_width * tick / axis_max  # a float, unlike the legend's x above
        draw.line([tick_x, top - 2, tick_x, bottom], fill=(230, 230, 230))
        draw.text(
            (tick_x - probe.textlength(_format(tick), font=small) / 2, bottom + 6),
            _format(tick),
            fill=(90, 90, 90),
            font=small,
        )
        tick += step
    for index, (face, text) in enumerate(fonted):
        y = top + index * row + 5
        while len(text) > 1 and probe.textlength(text, font=face) > left - 24:
            text = text[:-2] + "…"
        draw.text(
            (left - 12 - probe.textlength(text, font=face), y + (bar * len(names) - 16) / 2),
            text,
            fill=(30, 30, 30),
            font=face,
        )
        for number, name in enumerate(names):
            value = values[name][index] if index < len(values[name]) else 0
            y0 = y + number * bar
            x1 = left + plot_width * value / axis_max
            draw.rectangle([left, y0, max(left + 1, x1), y0 + bar - 3], fill=label_color(number))
            draw.text((x1 + 4, y0 - 1), _format(value), fill=(60, 60, 60), font=small)
    draw.line([left, top - 2, left, bottom], fill=(120, 120, 120))
    image.save(path, format="PNG")


def write_stats_charts(
    report: Any,
    folder: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
) -> list[Path]:
    """The charts of a :class:`~tfodkit.inspection.stats.StatsReport` as PNGs in ``folder``; returns their paths.

    ``folder`` is an output like any other (:func:`tfodkit.storage.check_output`): refused when it exists and is
    not empty unless ``overwrite`` (it is then replaced as a whole), and when it is, holds or lies inside one of
    ``inputs``. It appears complete or not at all.
    """
    check_output(folder, inputs=inputs, overwrite=overwrite)
    with atomic_path(folder) as temp:
        temp.mkdir(parents=True)
        names = _write_charts(report, temp)
    return [Path(folder) / name for name in names]


def _write_charts(report: Any, out: Path) -> list[str]:
    from tfodkit.inspection.stats import ASPECT_EDGES, PIXEL_EDGES, RELATIVE_EDGES

    written = []

    def save(name: str, *args: Any, **kwargs: Any) -> None:
        bar_chart(out / name, *args, **kwargs)
        written.append(name)

    totals = report.label_totals()[:MAX_ROWS]
    subsets = report.subsets
    save(
        "objects_per_label.png",
        "Objects per label",
        [name for name, _ in totals],
        {subset: [report.objects_per_label.get(name, {}).get(subset, 0) for name, _ in totals] for subset in subsets}
        or {"objects": []},
        note=f"{report.objects} objects in {report.images} images"
        + (f"; top {MAX_ROWS} labels" if len(report.label_totals()) > MAX_ROWS else ""),
    )
    bins = report.objects_per_image_bins()
    save(
        "objects_per_image.png",
        "Images by number of objects",
        [label for label, _ in bins],
        {"images": [count for _, count in bins]},
        note=f"{sum(report.empty_images_per_subset.values())} images without objects",
    )

    def ranges(edges: Sequence[float], unit: str = "") -> list[str]:
        labels = []
        for number, (low, high) in enumerate(itertools.pairwise(edges)):
            if number == 0:
                labels.append(f"< {_format(round(high, 3))}{unit}")
            elif high >= 1 << 20:
                labels.append(f">= {_format(low)}{unit}")
            else:
                labels.append(f"{_format(round(low, 3))}-{_format(round(high, 3))}{unit}")
        return labels

    relative_w = report.relative_width.coarse(RELATIVE_EDGES)
    relative_h = report.relative_height.coarse(RELATIVE_EDGES)
    save(
        "box_relative_size.png",
        "Box size relative to the image",
        ranges(RELATIVE_EDGES),
        {"width": [count for _, _, count in relative_w], "height": [count for _, _, count in relative_h]},
        note=f"{report.degenerate_boxes} boxes without area left out",
    )
    pixel_w = report.pixel_width.coarse(PIXEL_EDGES)
    pixel_h = report.pixel_height.coarse(PIXEL_EDGES)
    save(
        "box_pixel_size.png",
        "Box size in pixels",
        ranges(PIXEL_EDGES, " px"),
        {"width": [count for _, _, count in pixel_w], "height": [count for _, _, count in pixel_h]},
        note="COCO sizes: "
        + ", ".join(f"{name} {report.size_categories[name]}" for name in ("small", "medium", "large")),
    )
    aspect = report.aspect_ratio.coarse(ASPECT_EDGES)
    save(
        "box_aspect_ratio.png",
        "Box aspect ratio (width / height, in pixels)",
        ranges(ASPECT_EDGES),
        {"boxes": [count for _, _, count in aspect]},
    )
    if report.masks_decoded:
        coverage = report.mask_fraction.coarse(RELATIVE_EDGES)
        save(
            "mask_coverage.png",
            "Mask area relative to the image",
            ranges(RELATIVE_EDGES),
            {"masks": [count for _, _, count in coverage]},
            note=f"{report.masked_objects} objects with masks",
        )
    return written
