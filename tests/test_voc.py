"""Pascal VOC: reading a real VOCdevkit layout, the OD API's values, writing, round trips, bad input."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from tfodkit.errors import FormatError
from tfodkit.formats import voc
from tfodkit.labelmap import read_label_map
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg

# (id, width, height, objects: (name, xmin, ymin, xmax, ymax, difficult, truncated, pose))
SAMPLES = [
    ("000005", 50, 40, [("chair", 3, 4, 20, 30, 0, 0, "Rear"), ("person", 10, 1, 50, 40, 1, 1, "Left")]),
    ("000007", 60, 30, [("car", 1, 1, 59, 29, 0, 1, "Unspecified")]),
    ("000009", 40, 40, [("person", 5.5, 6, 30, 39.5, 0, 0, "Frontal"), ("horse", 2, 2, 12, 12, 1, 0, "Right")]),
    ("000012", 32, 24, []),
]


def voc_xml(item_id: str, width: int, height: int, objects: list, *, folder: str = "VOC2007") -> str:
    parts = [
        "<annotation>",
        f"  <folder>{folder}</folder>",
        f"  <filename>{item_id}.jpg</filename>",
        "  <source><database>The VOC2007 Database</database></source>",
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>",
        "  <segmented>0</segmented>",
    ]
    for name, xmin, ymin, xmax, ymax, difficult, truncated, pose in objects:
        parts += [
            "  <object>",
            f"    <name>{name}</name>",
            f"    <pose>{pose}</pose>",
            f"    <truncated>{truncated}</truncated>",
            f"    <difficult>{difficult}</difficult>",
            f"    <bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>",
            "  </object>",
        ]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def make_voc(root: Path, year: str = "VOC2007", samples: list = SAMPLES) -> Path:
    """A VOCdevkit/<year> folder as the VOC challenge ships it (a few tiny real JPEGs)."""
    folder = root / year
    (folder / "Annotations").mkdir(parents=True)
    (folder / "JPEGImages").mkdir()
    (folder / "ImageSets" / "Main").mkdir(parents=True)
    for index, (item_id, width, height, objects) in enumerate(samples):
        (folder / "Annotations" / f"{item_id}.xml").write_text(voc_xml(item_id, width, height, objects, folder=year))
        (folder / "JPEGImages" / f"{item_id}.jpg").write_bytes(make_jpeg(width, height, index))
    ids = [sample[0] for sample in samples]
    lists = {"train": ids[:2], "val": ids[2:], "trainval": ids}
    for name, listed in lists.items():
        (folder / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(f"{i}\n" for i in listed))
        # The class lists the OD API script reads: "<id> <flag>"
        (folder / "ImageSets" / "Main" / f"aeroplane_{name}.txt").write_text("".join(f"{i} -1\n" for i in listed))
    return folder


@pytest.fixture
def devkit(tmp_path: Path) -> Path:
    root = tmp_path / "VOCdevkit"
    make_voc(root)
    return root


def test_reads_boxes_flags_and_pose_as_the_xml_holds_them(devkit: Path) -> None:
    dataset = voc.read(str(devkit), year="VOC2007", set="trainval")
    items = list(dataset)
    assert [item.id for item in items] == [sample[0] for sample in SAMPLES]
    assert dataset.label_map.names == ["car", "chair", "horse", "person"]  # sorted, like pascal_label_map.pbtxt
    for item, (item_id, width, height, objects) in zip(items, SAMPLES, strict=True):
        assert item.image.known_size == (width, height)
        assert item.subset == "trainval"
        assert item.attributes["source_id"] == f"{item_id}.jpg"
        assert item.image.name == f"{item_id}.jpg"
        assert item.image.read() == (devkit / "VOC2007" / "JPEGImages" / f"{item_id}.jpg").read_bytes()
        # VOC's 1-based numbers unchanged: the OD API divides xmin by the width as is.
        assert item.objects.boxes.tolist() == [[float(v) for v in obj[1:5]] for obj in objects]
        names = [dataset.label_map.name_of(label_id) for label_id in item.objects.label_ids]
        assert names == [obj[0] for obj in objects]
        assert item.objects.attribute("difficult") == [bool(obj[5]) for obj in objects]
        assert item.objects.attribute("truncated") == [bool(obj[6]) for obj in objects]
        assert item.objects.attribute("pose") == [obj[7] for obj in objects]


def test_label_map_ids_are_used_and_a_missing_name_names_the_file(devkit: Path, tmp_path: Path) -> None:
    label_map_path = tmp_path / "pascal_label_map.pbtxt"
    label_map_path.write_text(
        "item { id: 7 name: 'person' }\nitem { id: 2 name: 'chair' }\nitem { id: 3 name: 'car' }\n"
    )
    with pytest.raises(FormatError) as raised:
        list(voc.read(str(devkit / "VOC2007"), label_map=str(label_map_path)))
    assert "horse" in str(raised.value) and "000009.xml" in str(raised.value)
    assert raised.value.line is not None

    label_map_path.write_text(label_map_path.read_text() + "item { id: 4 name: 'horse' }\n")
    items = list(voc.read(str(devkit / "VOC2007"), set="train", label_map=str(label_map_path)))
    assert [item.objects.label_ids.tolist() for item in items] == [[2, 7], [3]]


def test_ignore_difficult_drops_difficult_objects(devkit: Path) -> None:
    items = list(voc.read(str(devkit), set="val", ignore_difficult=True))
    assert [len(item.objects) for item in items] == [1, 0]
    assert items[0].objects.attribute("difficult") == [False]


def test_without_set_every_xml_is_read_with_subsets_from_the_lists(devkit: Path) -> None:
    items = list(voc.read(str(devkit / "VOC2007")))
    assert [(item.id, item.subset) for item in items] == [
        ("000005", "train"),
        ("000007", "train"),
        ("000009", "val"),
        ("000012", "val"),
    ]


def test_set_list_falls_back_to_the_class_list_the_od_api_reads(devkit: Path) -> None:
    os.remove(devkit / "VOC2007" / "ImageSets" / "Main" / "train.txt")
    assert [item.id for item in voc.read(str(devkit), set="train")] == ["000005", "000007"]
    with pytest.raises(FormatError, match="test.txt"):
        voc.read(str(devkit), set="test")


def test_years_merged_and_missing(tmp_path: Path) -> None:
    root = tmp_path / "VOCdevkit"
    make_voc(root, "VOC2007", SAMPLES[:2])
    make_voc(root, "VOC2012", [("2008_000001", 30, 20, [("dog", 1, 1, 10, 10, 0, 0, "Left")])])
    merged = list(voc.read(str(root), year="merged", set="trainval"))
    assert [item.id for item in merged] == ["000005", "000007", "2008_000001"]
    assert merged[2].image.path.endswith(os.path.join("VOC2012", "JPEGImages", "2008_000001.jpg"))
    assert [item.id for item in voc.read(str(root), year="VOC2012")] == ["2008_000001"]
    assert len(list(voc.read(str(root)))) == 3  # no year: every year folder
    with pytest.raises(FormatError, match="VOC2010"):
        voc.read(str(root), year="VOC2010")
    only_2007 = tmp_path / "only2007"
    make_voc(only_2007, "VOC2007", SAMPLES[:1])
    with pytest.raises(FormatError, match="VOC2012"):
        voc.read(str(only_2007), year="merged")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<annotation><object><name>cat</name></object>", "not well-formed"),
        ("<annotation><object><name>cat</name></object></annotation>", "no <bndbox>"),
        (
            "<annotation><object><name>cat</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
            "</bndbox></object></annotation>",
            "'a', not a number",
        ),
        ("<annotation><object><bndbox/></object></annotation>", "no <name>"),
        ("<root/>", "expected <annotation>"),
    ],
)
def test_bad_xml_is_a_format_error_naming_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    folder = tmp_path / "voc"
    (folder / "Annotations").mkdir(parents=True)
    (folder / "Annotations" / "bad.xml").write_text(body)
    with pytest.raises(FormatError, match=message) as raised:
        list(voc.read(str(folder)))
    assert raised.value.path.endswith("bad.xml")
    assert raised.value.line is not None


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    folder = tmp_path / "voc"
    (folder / "Annotations").mkdir(parents=True)
    (folder / "Annotations" / "x.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file://{secret}">]>'
        "<annotation><size><width>4</width><height>4</height></size><object><name>cat&e;</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>"
    )
    dataset = voc.read(str(folder))
    with pytest.warns(UserWarning, match="no image file"):
        list(dataset)
    assert all("TOPSECRET" not in name for name in dataset.label_map.names)


def test_missing_image_is_reported_and_size_comes_from_the_xml(devkit: Path) -> None:
    os.remove(devkit / "VOC2007" / "JPEGImages" / "000007.jpg")
    with pytest.warns(UserWarning, match="1 VOC annotation"):
        items = list(voc.read(str(devkit), set="train"))
    assert items[1].image.path is None and not items[1].image.has_bytes
    assert items[1].image.size == (60, 30)


def test_zero_size_in_the_xml_is_read_from_the_image_header(tmp_path: Path) -> None:
    folder = make_voc(tmp_path, "VOC2007", [("a", 20, 10, [("cat", 1, 1, 5, 5, 0, 0, "Left")])])
    (folder / "Annotations" / "a.xml").write_text(voc_xml("a", 0, 0, [("cat", 1, 1, 5, 5, 0, 0, "Left")]))
    item = next(iter(voc.read(str(folder))))
    assert item.image.size == (20, 10)


def test_labels_come_from_the_folders_label_map(devkit: Path) -> None:
    (devkit / "VOC2007" / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\nperson:::\nchair:::\n"
    )
    dataset = voc.read(str(devkit / "VOC2007"))
    items = list(dataset)
    assert dataset.label_map.names[:2] == ["person", "chair"]  # background (VOC's class 0) is not a label
    assert items[0].objects.label_ids.tolist() == [2, 1]


def write_and_read(dataset: Dataset, target: Path, **options) -> Dataset:
    voc.write(dataset, str(target), **options)
    return voc.read(str(target))


def test_voc_round_trip_keeps_everything(devkit: Path, tmp_path: Path) -> None:
    source = voc.read(str(devkit / "VOC2007"))
    back = write_and_read(source, tmp_path / "copy")
    assert back.label_map == source.label_map
    for original, copied in zip(source, back, strict=True):
        assert (copied.id, copied.subset, copied.image.name) == (original.id, original.subset, original.image.name)
        assert copied.image.read() == original.image.read()  # original bytes, never re-encoded
        assert copied.image.known_size == original.image.known_size
        assert copied.objects.boxes.tolist() == original.objects.boxes.tolist()
        assert copied.objects.label_ids.tolist() == original.objects.label_ids.tolist()
        for name in ("difficult", "truncated", "pose"):
            assert copied.objects.attribute(name) == original.objects.attribute(name)
    out = tmp_path / "copy"
    assert (out / "ImageSets" / "Main" / "train.txt").read_text() == "000005\n000007\n"
    assert read_label_map(str(out / "label_map.pbtxt")) == source.label_map
    assert (out / "labelmap.txt").read_text().splitlines()[1:3] == ["background:::", "car:::"]
    assert "<folder>copy</folder>" in (out / "Annotations" / "000005.xml").read_text()


def test_writes_attributes_ids_with_folders_and_label_gaps(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("L", (10, 8)).save(image)
    label_map = LabelMap()
    label_map.add("cat", 1)
    label_map.add("dog", 5)
    objects = Objects.from_boxes(
        [[0.5, 1, 4.25, 7], [2, 2, 9, 7.99999952]],
        [5, 1],
        occluded=[True, False],
        is_crowd=[False, True],
        area=[12.5, float("nan")],  # records hold a missing area as NaN
        colour=["red", None],
    )
    items = [Item("sub/x", ImageRef("x.png", path=str(image)), objects, subset="val")]
    back = list(write_and_read(Dataset(items, label_map), tmp_path / "out"))
    assert back[0].id == "sub/x" and back[0].image.name == "sub/x.png"
    assert (tmp_path / "out" / "JPEGImages" / "sub" / "x.png").read_bytes() == image.read_bytes()
    assert "<depth>1</depth>" in (tmp_path / "out" / "Annotations" / "sub" / "x.xml").read_text()
    got = back[0].objects
    assert got.boxes.tolist() == [[0.5, 1, 4.25, 7], [2, 2, 9, 8]]
    assert got.label_ids.tolist() == [5, 1]
    assert got.attribute("occluded") == [True, False]
    assert got.attribute("is_crowd") == [False, True]
    assert got.attribute("area") == [12.5, None]
    assert got.attribute("colour") == ["red", None]
    assert got.attribute("pose") == ["Unspecified", "Unspecified"]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    items = [
        Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [1])),
        Item("b", ImageRef("b.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [9])),
    ]
    with pytest.raises(FormatError, match="label id 9"):
        voc.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "out"), save_images=False)
    assert os.listdir(tmp_path) == []


def test_an_id_in_two_subsets_is_an_error(tmp_path: Path) -> None:
    items = [Item("a", ImageRef("a.jpg", width=4, height=4), subset=subset) for subset in ("train", "val")]
    with pytest.raises(FormatError, match="appears twice"):
        voc.write(Dataset(items, LabelMap()), str(tmp_path / "out"), save_images=False)


def test_unsafe_ids_are_refused(tmp_path: Path) -> None:
    items = [Item("../escape", ImageRef("e.jpg", width=4, height=4))]
    with pytest.raises(FormatError, match="cannot be used as a file name"):
        voc.write(Dataset(items, LabelMap()), str(tmp_path / "out"), save_images=False)
    assert not (tmp_path / "escape.xml").exists()


def test_detect(devkit: Path, tmp_path: Path) -> None:
    assert voc.detect(str(devkit)) and voc.detect(str(devkit / "VOC2007"))
    assert not voc.detect(str(tmp_path / "nothing"))
    (tmp_path / "plain").mkdir()
    assert not voc.detect(str(tmp_path / "plain"))


def test_format_coordinate() -> None:
    assert voc.format_coordinate(48.0) == "48"
    assert voc.format_coordinate(np.float32(0.096) * 500) == "48"
    assert voc.format_coordinate(273.5) == "273.5"
    assert float(voc.format_coordinate(1 / 3)) == pytest.approx(1 / 3, abs=1e-6)


def test_tfrecord_round_trip_keeps_boxes_labels_and_flags(devkit: Path, tmp_path: Path) -> None:
    from tfodkit.formats import tfod

    source = voc.read(str(devkit / "VOC2007"))
    tfod.write(source, str(tmp_path / "records"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        voc.write(tfod.read(str(tmp_path / "records")), str(tmp_path / "back"))
    back = {item.id: item for item in voc.read(str(tmp_path / "back"))}
    for original in source:
        copied = back[original.id]
        assert copied.subset == original.subset
        assert copied.image.read() == original.image.read()
        # Records hold float32 normalized boxes: VOC numbers come back exactly after the writer's snapping.
        assert copied.objects.boxes.tolist() == original.objects.boxes.tolist()
        assert [source.label_map.name_of(i) for i in original.objects.label_ids] == [
            back_label for back_label in (source.label_map.name_of(i) for i in copied.objects.label_ids)
        ]
        for name in ("difficult", "truncated", "pose"):
            assert copied.objects.attribute(name) == original.objects.attribute(name)


def test_records_carry_the_od_api_values(devkit: Path) -> None:
    from tfodkit.formats import tfod

    dataset = voc.read(str(devkit), set="trainval")
    item = next(iter(dataset))
    features = tfod.item_to_features(item, dataset.label_map)
    assert features["image/source_id"] == [b"000005.jpg"] and features["image/filename"] == [b"000005.jpg"]
    assert features["image/format"] == [b"jpeg"]
    # float(xmin) / width, then float32: create_pascal_tf_record.py's arithmetic.
    assert features["image/object/bbox/xmin"].tolist() == np.array([3 / 50, 10 / 50], dtype=np.float32).tolist()
    assert features["image/object/bbox/ymax"].tolist() == np.array([30 / 40, 40 / 40], dtype=np.float32).tolist()
    assert features["image/object/view"] == [b"Rear", b"Left"]
    assert features["image/object/difficult"].tolist() == [0, 1]
    assert features["image/object/truncated"].tolist() == [0, 1]


def test_listed_ids_without_xml_are_images_without_objects(devkit: Path) -> None:
    # Datumaro's VOC export writes no XML for an image without objects, but lists it and copies the image.
    folder = devkit / "VOC2007"
    os.remove(folder / "Annotations" / "000012.xml")
    items = list(voc.read(str(folder)))
    assert [(item.id, item.subset, len(item.objects)) for item in items][-1] == ("000012", "val", 0)
    assert items[-1].image.known_size == (32, 24) and items[-1].image.has_bytes
    assert [item.id for item in voc.read(str(folder), set="val")] == ["000009", "000012"]
    os.remove(folder / "JPEGImages" / "000012.jpg")
    with pytest.raises(FormatError, match="no image for this id") as raised:
        list(voc.read(str(folder)))
    assert raised.value.path.endswith("000012.xml")
