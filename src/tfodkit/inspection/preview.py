"""``tfod preview``: draw each image with its boxes, label names and masks, and build an HTML gallery.

One PNG per image in ``DIR/images/``, a JPEG thumbnail in ``DIR/thumbs/`` and ``DIR/index.html``
(:mod:`tfodkit.inspection.gallery`). Every label gets its own colour (a fixed palette of distinct colours, in
label-map order, then golden-ratio hues); names are drawn on a filled tag in a TrueType font (DejaVu Sans when
installed, else Pillow's scalable default font; names in other scripts in the first installed font that has
their glyphs, see :func:`font_for`), with small images scaled up first so text stays legible.
Images come from the record (``image/encoded``) or from ``images_dir``; an item without image bytes is
drawn on a grey canvas of its size.

The folder is built under a temporary name and renamed into place at the end; an existing folder is replaced
only when it is an earlier preview (it holds ``index.html``) or empty.

Example:
    >>> import tempfile, os
    >>> from tfodkit.formats import tfod
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> folder = tempfile.mkdtemp()
    >>> items = [Item("a", ImageRef("a.jpg", width=40, height=30), Objects.from_boxes([[2, 2, 20, 20]], [1]))]
    >>> dataset = Dataset(items, LabelMap.from_names(["cat"]))
    >>> tfod.write(dataset, os.path.join(folder, "train.tfrecord"), save_images=False)
    >>> report = preview(os.path.join(folder, "train.tfrecord"), os.path.join(folder, "preview"))
    >>> report.images, sorted(os.listdir(os.path.join(folder, "preview")))
    (1, ['images', 'index.html', 'thumbs'])
"""

from __future__ import annotations

import colorsys
import io
import os
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tfodkit import keypoints, progress
from tfodkit.errors import FormatError, TfodWarning, UsageError
from tfodkit.inspection import gallery
from tfodkit.model import Item, LabelMap
from tfodkit.storage import atomic_path, check_output

# Distinct colours for the first labels (Tableau 10 and its lighter companions, reordered for contrast).
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
    (188, 189, 34),
    (127, 127, 127),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (158, 218, 229),
    (219, 219, 141),
    (199, 199, 199),
)
MASK_OPACITY = 0.45
THUMBNAIL_SIZE = 320
MIN_DRAW_SIDE = 480  # smaller images are scaled up before drawing, so text and lines stay legible
MAX_DRAW_SIDE = 1600  # larger ones are scaled down: a preview, not a copy
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "Arial.ttf",
)
# Fonts tried, in order, for label names with characters the first font lacks (CJK and others), when installed.
FALLBACK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def label_color(index: int) -> tuple[int, int, int]:
    """The colour of the ``index``-th label: the palette, then hues spaced by the golden ratio.

    Example:
        >>> label_color(0), label_color(1) != label_color(25)
        ((31, 119, 180), True)
    """
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return round(red * 255), round(green * 255), round(blue * 255)


def text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""

    def channel(value: int) -> float:
        fraction = value / 255
        return fraction / 12.92 if fraction <= 0.03928 else ((fraction + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(background[0]) + 0.7152 * channel(background[1]) + 0.0722 * channel(background[2])
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


@lru_cache(maxsize=32)
def load_font(size: int) -> Any:
    """A TrueType font of ``size`` pixels: DejaVu Sans when installed, else Pillow's default (scalable in
    Pillow >= 10.1), else its small bitmap font."""
    from PIL import ImageFont

    for candidate in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


@lru_cache(maxsize=32)
def _fallback_fonts(size: int) -> tuple[Any, ...]:
    return tuple(font for font in (_truetype(path, size) for path in FALLBACK_FONTS if os.path.isfile(path)) if font)


@lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


@lru_cache(maxsize=1024)
def _fc_match(character: str) -> str | None:
    """The font file fontconfig picks for ``character`` (``fc-match :charset=HEX``), when fc-match is installed.

    fontconfig answers with its best font even when none has the character, so the caller checks the glyph.
    """
    executable = shutil.which("fc-match")
    if executable is None:
        return None
    try:
        result = subprocess.run(
            [executable, "-f", "%{file}", f":charset={ord(character):x}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def _system_font_for(text: str, size: int) -> Any:
    """A font fontconfig finds for the characters of ``text``, when one of them has every glyph."""
    for character in dict.fromkeys(text):
        if character.isspace():
            continue
        path = _fc_match(character)
        font = _truetype(path, size) if path else None
        if font is not None and _has_glyphs(font, text):
            return font
    return None


_warned_missing_glyphs = False  # warn once per run, not per label or image


def _warn_missing_glyphs(text: str) -> None:
    global _warned_missing_glyphs
    if _warned_missing_glyphs:
        return
    _warned_missing_glyphs = True
    warnings.warn(
        f"no installed font draws every character of label {text!r}; the missing ones are drawn as '?' "
        "(install fonts-noto-cjk or fonts-wqy-microhei for CJK, fonts-dejavu-core for Cyrillic and Arabic)",
        TfodWarning,
        stacklevel=3,
    )


def _glyph(font: Any, character: str) -> tuple[Any, bytes]:
    mask = font.getmask(character)
    return mask.size, bytes(mask)


@lru_cache(maxsize=4096)
def _has_glyphs(font: Any, text: str) -> bool:
    """True when ``font`` draws every character of ``text`` (a missing one renders as the font's .notdef box,
    the same picture as a noncharacter's)."""
    missing = _glyph(font, "\uffff")
    return all(character.isspace() or _glyph(font, character) != missing for character in text)


def font_for(text: str, size: int) -> tuple[Any, str]:
    """(font, text to draw): the first font that has every glyph of ``text`` — the main font, the known fallback
    paths (Noto CJK, WenQuanYi, DejaVu), then what fontconfig's ``fc-match`` finds; when none has, the main font
    and ``text`` with the missing characters shown as ``?`` (the gallery page still shows the real name), with a
    warning once per run.

    Example:
        >>> font, text = font_for("car", 14)
        >>> text
        'car'
    """
    main = load_font(size)
    if not hasattr(main, "getmask") or not hasattr(main, "path"):
        return main, text
    if _has_glyphs(main, text):
        return main, text
    for font in _fallback_fonts(size):
        if _has_glyphs(font, text):
            return font, text
    found = _system_font_for(text, size)
    if found is not None:
        return found, text
    _warn_missing_glyphs(text)
    return main, "".join(character if _has_glyphs(main, character) else "?" for character in text)


@dataclass
class PreviewReport:
    """What ``tfod preview`` wrote."""

    output: str
    images: int = 0
    objects: int = 0
    without_image: int = 0  # drawn on a blank canvas
    labels: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    """One gallery card."""

    name: str
    subset: str
    image: str
    thumbnail: str
    width: int
    height: int
    objects: list[dict[str, Any]]
    has_image: bool


def _scale_for(width: int, height: int) -> float:
    longest = max(width, height, 1)
    if longest < MIN_DRAW_SIDE:
        return min(8.0, MIN_DRAW_SIDE / longest)
    if longest > MAX_DRAW_SIDE:
        return MAX_DRAW_SIDE / longest
    return 1.0


def render_item(
    item: Item, label_map: LabelMap, colors: dict[int, tuple[int, int, int]], *, masks: bool = True
) -> tuple[Any, bool]:
    """(PIL RGB image with the item's masks, polygons, boxes and label names drawn; True if it shows the real image)."""
    from PIL import Image, ImageDraw, UnidentifiedImageError

    base = None
    if item.image.has_bytes:
        try:
            with Image.open(io.BytesIO(item.image.read())) as opened:
                base = opened.convert("RGB")
        except (FormatError, UnidentifiedImageError, OSError, ValueError, SyntaxError):
            base = None
    known = item.image.known_size
    width, height = base.size if base is not None else (known or (640, 480))
    has_image = base is not None
    if base is None:
        base = Image.new("RGB", (max(width, 1), max(height, 1)), (96, 96, 96))
    scale = _scale_for(width, height)
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        base = base.resize(size, Image.Resampling.BILINEAR if scale > 1 else Image.Resampling.LANCZOS)
    objects = item.objects
    if masks and objects.has_masks:
        base = _draw_masks(base, item, colors)
    draw = ImageDraw.Draw(base)
    line = max(2, round(min(base.size) / 240))
    font_size = max(13, min(40, round(min(base.size) / 24)))
    font = load_font(font_size)
    if not has_image:
        draw.text((8, 8), f"no image: {item.image.name}", fill=(255, 255, 255), font=font)
    for polygons, label_id in zip(objects.polygons, objects.label_ids.tolist(), strict=True):
        for polygon in polygons:
            points = [(float(x) * scale, float(y) * scale) for x, y in np.asarray(polygon).reshape(-1, 2)]
            if len(points) >= 2:
                draw.line(points + points[:1], fill=colors.get(label_id, (255, 255, 255)), width=line)
    _draw_keypoints(draw, item, label_map, colors, scale, line)
    tags = []
    for box, label_id in zip(objects.boxes.tolist(), objects.label_ids.tolist(), strict=True):
        color = colors.get(label_id, (255, 255, 255))
        xmin, ymin, xmax, ymax = (value * scale for value in box)
        if not all(np.isfinite([xmin, ymin, xmax, ymax])):
            continue
        draw.rectangle([min(xmin, xmax), min(ymin, ymax), max(xmin, xmax), max(ymin, ymax)], outline=color, width=line)
        tags.append((min(xmin, xmax), min(ymin, ymax), label_map.name_of(label_id) or f"label_{label_id}", color))
    for x, y, name, color in tags:  # tags last, so no box line crosses a name
        tag_font, name = font_for(name, font_size)
        left, top, right, bottom = draw.textbbox((0, 0), name, font=tag_font)
        text_width, text_height = right - left, bottom - top
        pad = max(2, line)
        tag_top = y - text_height - 2 * pad if y - text_height - 2 * pad >= 0 else y
        tag_left = min(max(0, x), max(0, base.size[0] - text_width - 2 * pad))
        draw.rectangle(
            [tag_left, tag_top, tag_left + text_width + 2 * pad, tag_top + text_height + 2 * pad], fill=color
        )
        draw.text((tag_left + pad - left, tag_top + pad - top), name, fill=text_color(color), font=tag_font)
    return base, has_image


def _draw_keypoints(
    draw: Any, item: Item, label_map: LabelMap, colors: dict[int, tuple[int, int, int]], scale: float, line: int
) -> None:
    """Skeleton lines between labeled points, then the joints: filled when visible, a ring when hidden."""
    radius = max(3, line * 2)
    for points, label_id in zip(keypoints.column(item.objects), item.objects.label_ids.tolist(), strict=True):
        if points is None:
            continue
        color = colors.get(label_id, (255, 255, 255))
        skeleton = label_map[label_id].skeleton if label_id in label_map else ()
        for first, second in skeleton:
            if max(first, second) <= len(points) and points[first - 1, 2] > 0 and points[second - 1, 2] > 0:
                ends = [(float(points[i - 1, 0]) * scale, float(points[i - 1, 1]) * scale) for i in (first, second)]
                draw.line(ends, fill=color, width=line)
        for x, y, visibility in points.tolist():
            if visibility <= 0:
                continue
            box = [x * scale - radius, y * scale - radius, x * scale + radius, y * scale + radius]
            if visibility >= 2:
                draw.ellipse(box, fill=color, outline=(0, 0, 0))
            else:
                draw.ellipse(box, outline=color, width=max(1, line // 2))


def _draw_masks(base: Any, item: Item, colors: dict[int, tuple[int, int, int]]) -> Any:
    from PIL import Image

    pixels = np.asarray(base, dtype=np.float32).copy()
    for mask, label_id in zip(item.objects.masks, item.objects.label_ids.tolist(), strict=True):
        if mask is None:
            continue
        try:
            array = mask.array
        except FormatError:
            continue
        if array.shape != (pixels.shape[0], pixels.shape[1]):
            array = (
                np.asarray(
                    Image.fromarray(array.astype(np.uint8) * 255).resize(
                        (pixels.shape[1], pixels.shape[0]), Image.Resampling.NEAREST
                    )
                )
                > 0
            )
        color = np.array(colors.get(label_id, (255, 255, 255)), dtype=np.float32)
        pixels[array] = pixels[array] * (1 - MASK_OPACITY) + color * MASK_OPACITY
    return Image.fromarray(pixels.round().astype(np.uint8), "RGB")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "image"


def preview(
    path: str,
    output: str,
    format_name: str | None = None,
    *,
    limit: int | None = None,
    subset: str | None = None,
    labels: list[str] | None = None,
    images_dir: str | None = None,
    label_map: str | None = None,
    masks: bool = True,
    title: str | None = None,
    overwrite: bool = False,
) -> PreviewReport:
    """Draw the items of the dataset at ``path`` into ``output``: PNGs, thumbnails and ``index.html``.

    ``limit`` caps the number of images; ``subset`` keeps one subset; ``labels`` keeps images with at least
    one object of those labels (all their objects are drawn).

    ``output`` follows the rule of every output (:func:`tfodkit.storage.check_output`): one that exists and is not
    empty is refused unless ``overwrite``, one that is, holds or lies inside an input always; and ``overwrite``
    replaces only an earlier preview (a folder with an ``index.html``), never another folder.
    """
    from tfodkit.pipeline import read_dataset

    dataset = read_dataset(path, format_name, label_map=label_map, images_dir=images_dir)
    target = Path(output)
    _check_output(target, [path, label_map, images_dir], overwrite)
    report = PreviewReport(str(target))
    entries: list[_Entry] = []
    colors: dict[int, tuple[int, int, int]] = {}
    wanted = set(labels or [])
    with atomic_path(target) as folder:
        (folder / "images").mkdir(parents=True)
        (folder / "thumbs").mkdir()
        total = dataset.length if limit is None or dataset.length is None else min(limit, dataset.length)
        progress.start(total if subset is None and not labels else None)
        for item in dataset:
            if limit is not None and report.images >= limit:
                break
            progress.advance()
            names = [
                dataset.label_map.name_of(label_id) or f"label_{label_id}"
                for label_id in item.objects.label_ids.tolist()
            ]
            if (subset is not None and item.subset != subset) or (wanted and not wanted.intersection(names)):
                continue
            for label in dataset.label_map:  # colours in label-map order; labels found while reading come after
                colors.setdefault(label.id, label_color(len(colors)))
            for label_id in item.objects.label_ids.tolist():
                colors.setdefault(label_id, label_color(len(colors)))
            picture, has_image = render_item(item, dataset.label_map, colors, masks=masks)
            number = report.images
            stem = f"{number:05d}_{_safe_name(item.id)}"
            picture.save(folder / "images" / f"{stem}.png", format="PNG", compress_level=6)
            thumbnail = picture.copy()
            thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            thumbnail.save(folder / "thumbs" / f"{stem}.jpg", format="JPEG", quality=85)
            width, height = item.image.known_size or picture.size
            entries.append(
                _Entry(
                    item.image.name,
                    item.subset,
                    f"images/{stem}.png",
                    f"thumbs/{stem}.jpg",
                    width,
                    height,
                    [
                        {"label": name, "box": [round(value, 1) for value in box], "mask": mask is not None}
                        for name, box, mask in zip(names, item.objects.boxes.tolist(), item.objects.masks, strict=True)
                    ],
                    has_image,
                )
            )
            report.images += 1
            report.objects += len(names)
            report.without_image += not has_image
        label_names = [dataset.label_map.name_of(label_id) or f"label_{label_id}" for label_id in colors]
        report.labels = label_names
        legend = {name: colors[label_id] for name, label_id in zip(label_names, colors, strict=True)}
        gallery.write_gallery(
            folder / "index.html",
            [entry.__dict__ for entry in entries],
            legend,
            title=title or f"tfod preview: {os.path.basename(str(path).rstrip('/')) or path}",
        )
    return report


def _check_output(target: Path, inputs: list[str | None], overwrite: bool) -> None:
    check_output(target, inputs=inputs, overwrite=overwrite)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / "index.html").is_file():
        # --overwrite replaces an earlier preview, never a folder of other files
        raise UsageError(f"{target} is a folder that is not an earlier preview; give a new or empty folder")
