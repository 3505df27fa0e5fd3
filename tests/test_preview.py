"""`tfod preview`: PNGs with boxes, names and masks in distinct label colours, and the gallery page."""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cli import run
from PIL import Image

from tfodkit.errors import UsageError
from tfodkit.formats import tfod
from tfodkit.inspection.preview import label_color, load_font, preview, render_item, text_color
from tfodkit.model import Dataset, LabelMap
from tfodkit.samples import make_cvat_dataset


class GalleryParser(HTMLParser):
    """Cards (their data-labels and thumbnail), filter checkboxes, scripts and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []
        self.filters: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "figure":
            self.cards.append({"labels": values["data-labels"] or "", "subset": values["data-subset"] or ""})
        if tag == "img":
            self.cards[-1]["thumbnail"] = values["src"] or ""
        if tag == "input" and "label-filter" in (values.get("class") or ""):
            self.filters.append(values["value"] or "")
        for name in ("src", "href"):
            if values.get(name):
                self.sources.append(values[name] or "")


def parse(index: Path) -> GalleryParser:
    parser = GalleryParser()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def records(tmp_path: Path, dataset: Dataset) -> Path:
    path = tmp_path / "records"  # train.tfrecord, val.tfrecord
    tfod.write(dataset, str(path), save_images=True)
    return path


def test_preview_writes_a_png_per_image_and_a_gallery(records: Path, tmp_path: Path, dataset: Dataset) -> None:
    out = tmp_path / "preview"
    report = preview(str(records), str(out))
    items = list(tfod.read(str(records)))  # in reading order: train.tfrecord, then val.tfrecord
    assert report.images == len(items) and report.without_image == 0
    pngs = sorted((out / "images").glob("*.png"))
    thumbs = sorted((out / "thumbs").glob("*.jpg"))
    assert len(pngs) == len(thumbs) == len(items)
    for png, item in zip(pngs, items, strict=True):
        with Image.open(png) as picture:
            width, height = item.image.size
            assert picture.size[0] / picture.size[1] == pytest.approx(width / height, rel=0.02)
            assert max(picture.size) >= 480  # small images are scaled up so names stay legible
    gallery = parse(out / "index.html")
    assert len(gallery.cards) == len(items)
    assert [json.loads(card["labels"]) for card in gallery.cards] == [
        sorted({dataset.label_map.name_of(i) for i in item.objects.label_ids.tolist()}) for item in items
    ]
    assert set(gallery.filters) == set(dataset.label_map.names) | {"(no objects)"}
    for source in gallery.sources:  # every reference is a local file of the folder (or an inline icon)
        assert source.startswith("data:") or (out / source).is_file()


def test_boxes_and_masks_are_drawn_in_the_label_colour(records: Path, tmp_path: Path, dataset: Dataset) -> None:
    item = next(iter(tfod.read(str(records))))
    label_map = dataset.label_map
    colors = {label.id: label_color(index) for index, label in enumerate(label_map)}
    with_masks = np.asarray(render_item(item, label_map, colors)[0])
    without_masks = np.asarray(render_item(item, label_map, colors, masks=False)[0])
    scale = with_masks.shape[1] / item.image.width
    xmin, ymin, xmax, ymax = item.objects.boxes[0]
    color = np.array(colors[int(item.objects.label_ids[0])])
    middle = int((ymin + ymax) / 2 * scale)
    left_edge = with_masks[middle, max(0, int(xmin * scale) - 2) : int(xmin * scale) + 3]
    assert (left_edge == color).all(axis=1).any()
    mask_row, mask_column = int(12 * scale), int(20 * scale)  # inside the fixture's mask [5:20, 10:30]
    tinted, plain = with_masks[mask_row, mask_column].astype(int), without_masks[mask_row, mask_column].astype(int)
    assert np.abs(tinted - color).sum() < np.abs(plain - color).sum()
    outside = without_masks[2, with_masks.shape[1] - 3]
    assert (with_masks[2, with_masks.shape[1] - 3] == outside).all()


def test_label_colours_are_distinct_and_text_reads() -> None:
    colors = [label_color(index) for index in range(60)]
    assert len(set(colors)) == 60
    assert text_color((255, 255, 0)) == (0, 0, 0) and text_color((20, 20, 120)) == (255, 255, 255)
    font = load_font(20)
    assert font.getbbox("Ag")[3] > 12  # a scalable font, not the 11-pixel bitmap one


def test_filters_limit_subset_and_label(records: Path, tmp_path: Path, dataset: Dataset) -> None:
    assert preview(str(records), str(tmp_path / "a"), limit=2).images == 2
    report = preview(str(records), str(tmp_path / "b"), subset="val")
    assert report.images == sum(item.subset == "val" for item in dataset)
    name = dataset.label_map.name_of(2)
    report = preview(str(records), str(tmp_path / "c"), labels=[name])
    expected = sum(2 in item.objects.label_ids.tolist() for item in dataset)
    assert report.images == expected and len(parse(tmp_path / "c" / "index.html").cards) == expected


def test_images_from_a_folder_and_blank_canvas_without_one(tmp_path: Path) -> None:
    annotations = make_cvat_dataset(tmp_path / "cvat", images=3)
    report = preview(str(annotations), str(tmp_path / "with"), images_dir=str(annotations.parent / "images"))
    assert report.images == 3 and report.without_image == 0
    records = tmp_path / "bare.tfrecord"
    from tfodkit.pipeline import convert

    convert(
        str(annotations), str(records), from_format="cvat", to_format="tfrecord", write_options={"save_images": False}
    )
    report = preview(str(records), str(tmp_path / "without"))
    assert report.images == 3 and report.without_image == 3
    assert "no image bytes" in (tmp_path / "without" / "index.html").read_text(encoding="utf-8")
    report = preview(str(records), str(tmp_path / "found"), images_dir=str(annotations.parent / "images"))
    assert report.without_image == 0


def test_output_folder_rules_and_cli(records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="exists; --overwrite replaces it"):
        preview(str(records), str(busy))
    with pytest.raises(UsageError, match="not an earlier preview"):
        preview(str(records), str(busy), overwrite=True)
    assert (busy / "thesis.tex").read_text() == "precious"
    out = tmp_path / "out"
    assert run("preview", str(records), "-o", str(out), "--limit", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out)["images"] == 1
    assert run("preview", str(records), "-o", str(out)) == 2  # an output that exists needs --overwrite
    assert len(list((out / "images").glob("*.png"))) == 1
    assert run("preview", str(records), "-o", str(out), "--overwrite") == 0  # an earlier preview is replaced
    assert len(list((out / "images").glob("*.png"))) == 4
    assert run("preview", str(records), "-o", str(busy)) == 2
    assert run("preview", str(records), "-o", str(busy), "--overwrite") == 2  # not an earlier preview: never
    assert (busy / "thesis.tex").read_text() == "precious"


# ------------------------------------------------------------------------------------------ labels in other scripts
CJK = "自行车"


def _cjk_font_or_skip() -> None:
    from tfodkit.inspection.preview import font_for

    if "?" in font_for(CJK, 20)[1]:
        pytest.skip("no installed font has CJK glyphs (Debian: apt-get install fonts-wqy-microhei)")


def _cjk_item() -> tuple[Any, LabelMap]:
    from tfodkit.model import ImageRef, Item, Objects

    item = Item("bike", ImageRef("bike.jpg", width=480, height=480), Objects.from_boxes([[40, 200, 400, 440]], [1]))
    return item, LabelMap.from_names([CJK])


def _tag_area(picture: Any) -> np.ndarray:
    return np.asarray(picture)[140:200, 40:300].astype(int)  # above the box top (y=200): the name tag


def test_cjk_label_names_are_drawn_in_glyphs_not_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    preview_module = sys.modules["tfodkit.inspection.preview"]

    _cjk_font_or_skip()
    item, label_map = _cjk_item()
    colors = {1: label_color(0)}
    drawn = _tag_area(render_item(item, label_map, colors)[0])
    # the same name in the main font alone: its missing-glyph boxes (tofu)
    monkeypatch.setattr(preview_module, "font_for", lambda text, size: (load_font(size), text))
    tofu = _tag_area(render_item(item, label_map, colors)[0])
    background = np.array(colors[1])
    glyph_pixels = (np.abs(drawn - background).sum(axis=2) > 60).sum()
    assert glyph_pixels > 50  # there is text on the tag
    assert (np.abs(drawn - tofu).sum(axis=2) > 60).sum() > 50  # and it is not the tofu boxes


def test_fontconfig_finds_a_font_when_the_known_paths_have_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    preview_module = sys.modules["tfodkit.inspection.preview"]

    _cjk_font_or_skip()
    if shutil.which("fc-match") is None:
        pytest.skip("fc-match (fontconfig) is not installed")
    monkeypatch.setattr(preview_module, "FALLBACK_FONTS", ())
    preview_module._fallback_fonts.cache_clear()
    try:
        font, text = preview_module.font_for(CJK, 21)
    finally:
        preview_module._fallback_fonts.cache_clear()
    assert text == CJK and preview_module._has_glyphs(font, CJK)


def test_cyrillic_and_arabic_names_keep_their_letters() -> None:
    from tfodkit.inspection.preview import _has_glyphs, font_for

    for name in ("Велосипед", "دراجة"):
        font, text = font_for(name, 20)
        assert text == name and _has_glyphs(font, name)


def test_a_name_no_font_draws_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    preview_module = sys.modules["tfodkit.inspection.preview"]

    monkeypatch.setattr(preview_module, "_warned_missing_glyphs", False)
    name = "\U000f0001\U000f0002"  # private-use characters: no font has them
    with pytest.warns(UserWarning, match="no installed font draws") as caught:
        assert preview_module.font_for(name, 22)[1] == "??"
        assert preview_module.font_for(name + "x", 22)[1].startswith("??")
    assert len([w for w in caught if "no installed font" in str(w.message)]) == 1


def test_charts_draw_cjk_label_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tfodkit.inspection.charts as charts

    _cjk_font_or_skip()
    charts.bar_chart(tmp_path / "cjk.png", "objects per label", [CJK], {"objects": [3]})
    monkeypatch.setattr(charts, "font_for", lambda text, size: (load_font(size), text))
    charts.bar_chart(tmp_path / "tofu.png", "objects per label", [CJK], {"objects": [3]})
    with Image.open(tmp_path / "cjk.png") as one, Image.open(tmp_path / "tofu.png") as two:
        assert one.size == two.size or one.size[1] == two.size[1]
        first, second = np.asarray(one.convert("L")), np.asarray(two.convert("L"))
    rows = slice(40, 90)
    assert first[rows, :200].min() < 128  # the name is drawn
    width = min(first.shape[1], second.shape[1])
    assert not np.array_equal(first[rows, :width], second[rows, :width])
