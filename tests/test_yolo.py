"""YOLO: darknet and Ultralytics layouts, reading, writing, round trips, malformed lines."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from tfodkit.errors import FormatError, UsageError
from tfodkit.formats import yolo
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg

NAMES = ["car", "person", "dog"]
# (name, width, height, label lines)
IMAGES = [
    ("1", 40, 20, "0 0.5 0.5 0.5 0.5\n2 0.25 0.75 0.1 0.2\n"),
    ("2", 16, 32, "1 0.5 0.25 1 0.5\n"),
    ("3", 20, 20, ""),
]


def make_darknet(root: Path) -> Path:
    """CVAT's / Datumaro's "YOLO 1.1" export: obj.data, obj.names, train.txt, obj_train_data/."""
    data = root / "obj_train_data"
    data.mkdir(parents=True)
    for index, (name, width, height, lines) in enumerate(IMAGES):
        (data / f"{name}.jpg").write_bytes(make_jpeg(width, height, index))
        (data / f"{name}.txt").write_text(lines)
    (root / "obj.names").write_text("".join(f"{name}\n" for name in NAMES))
    (root / "train.txt").write_text("".join(f"data/obj_train_data/{name}.jpg\n" for name, *_ in IMAGES))
    (root / "obj.data").write_text(
        f"classes = {len(NAMES)}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    )
    return root


def make_ultralytics(root: Path, *, names: object = None) -> Path:
    for split, members in (("train", IMAGES[:2]), ("val", IMAGES[2:])):
        for name, width, height, lines in members:
            (root / "images" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "images" / split / f"{name}.png").write_bytes(_png(width, height))
            if lines:  # Ultralytics: no label file = an image without objects
                (root / "labels" / split / f"{name}.txt").write_text(lines)
    config = {
        "path": "/nonexistent/moved",
        "train": "images/train",
        "val": "images/val",
        "names": names if names is not None else dict(enumerate(NAMES)),
    }
    (root / "data.yaml").write_text(yaml.safe_dump(config))
    return root


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


EXPECTED_BOXES = {
    "1": [[10, 5, 30, 15], [8, 13, 12, 17]],
    "2": [[0, 0, 16, 16]],
    "3": [],
}
EXPECTED_LABELS = {"1": [1, 3], "2": [2], "3": []}


@pytest.mark.parametrize("maker", [make_darknet, make_ultralytics])
def test_reads_both_layouts(tmp_path: Path, maker) -> None:
    root = maker(tmp_path / "yolo")
    dataset = yolo.read(str(root))
    assert dataset.label_map.names == NAMES and dataset.label_map.ids == [1, 2, 3]
    items = list(dataset)
    assert [item.id for item in items] == ["1", "2", "3"]
    for item in items:
        assert np.allclose(item.objects.boxes, np.array(EXPECTED_BOXES[item.id]).reshape(-1, 4))
        assert item.objects.label_ids.tolist() == EXPECTED_LABELS[item.id]
        assert item.image.read() == Path(item.image.path).read_bytes()
    width_height = {name: (width, height) for name, width, height, _ in IMAGES}
    assert all(item.image.known_size == width_height[item.id] for item in items)
    if maker is make_darknet:
        assert {item.subset for item in items} == {"train"}
    else:
        assert [item.subset for item in items] == ["train", "train", "val"]


def test_names_as_a_list_and_a_txt_split(tmp_path: Path) -> None:
    root = make_ultralytics(tmp_path / "yolo", names=NAMES)
    (root / "train.txt").write_text("./images/train/1.png\n./images/train/2.png\n")
    config = yaml.safe_load((root / "data.yaml").read_text())
    config["train"] = "train.txt"
    (root / "data.yaml").write_text(yaml.safe_dump(config))
    items = list(yolo.read(str(root / "data.yaml")))
    assert [(item.subset, item.id) for item in items] == [("train", "1"), ("train", "2"), ("val", "3")]
    assert items[0].objects.label_ids.tolist() == [1, 3]


def test_segment_lines_give_a_polygon_and_its_box(tmp_path: Path) -> None:
    root = make_ultralytics(tmp_path / "yolo")
    (root / "labels" / "train" / "2.txt").write_text("1 0.25 0.25 0.75 0.25 0.5 0.75\n")
    item = [item for item in yolo.read(str(root)) if item.id == "2"][0]
    assert item.objects.boxes.tolist() == [[4, 8, 12, 24]]
    assert item.objects.polygons[0][0].tolist() == [[4, 8], [12, 8], [8, 24]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.5\n", "got 4 fields"),
        ("x 0.5 0.5 0.5 0.5\n", "numbers"),
        ("0 0.5 zero 0.5 0.5\n", "numbers"),
        ("3 0.5 0.5 0.5 0.5\n", "class 3 is not one of the 3 names"),
        ("-1 0.5 0.5 0.5 0.5\n", "class -1"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    root = make_darknet(tmp_path / "yolo")
    (root / "obj_train_data" / "2.txt").write_text("1 0.5 0.5 0.2 0.2\n\n" + line)
    with pytest.raises(FormatError, match=message) as raised:
        list(yolo.read(str(root)))
    assert raised.value.path.endswith("2.txt") and raised.value.line == 3


def test_bad_configs(tmp_path: Path) -> None:
    root = make_darknet(tmp_path / "dark")
    (root / "obj.data").write_text("classes = 5\ntrain = data/train.txt\nnames = data/obj.names\n")
    with pytest.raises(FormatError, match="classes = 5"):
        yolo.read(str(root))
    (root / "obj.data").write_text("classes = 3\ntrain = data/missing.txt\nnames = data/obj.names\n")
    with pytest.raises(FormatError, match="missing.txt"):
        yolo.read(str(root))
    (root / "obj.data").write_text("classes 3\n")
    with pytest.raises(FormatError) as raised:
        yolo.read(str(root))
    assert raised.value.line == 1
    ultra = make_ultralytics(tmp_path / "ultra")
    (ultra / "data.yaml").write_text("names: [a, b\n")
    with pytest.raises(FormatError, match="not valid YAML"):
        yolo.read(str(ultra))
    (ultra / "data.yaml").write_text("names: {0: a, 2: b}\ntrain: images/train\n")
    with pytest.raises(FormatError, match="without gaps"):
        yolo.read(str(ultra))
    with pytest.raises(UsageError):
        yolo.read(str(ultra), layout="v8")
    with pytest.raises(FormatError, match="no obj.data"):
        yolo.read(str(ultra), layout="darknet")
    os.remove(root / "obj_train_data" / "1.jpg")
    (root / "obj.data").write_text("classes = 3\ntrain = data/train.txt\nnames = data/obj.names\n")
    with pytest.raises(FormatError, match="not found"):
        list(yolo.read(str(root)))


@pytest.mark.parametrize("layout", ["ultralytics", "darknet"])
def test_round_trip_in_both_layouts(tmp_path: Path, layout: str) -> None:
    source_images = tmp_path / "src"
    source_images.mkdir()
    label_map = LabelMap()
    label_map.add("cat", 2)
    label_map.add("dog", 7)
    items = []
    for index, subset in enumerate(["default", "val", "val"]):
        path = source_images / f"im{index}.jpg"
        path.write_bytes(make_jpeg(50 + index, 30, index))
        boxes = [[1, 2, 20, 25], [10.5, 3.25, 49, 29]] if index < 2 else []
        objects = Objects.from_boxes(boxes, [7, 2][: len(boxes)], is_crowd=[False, False][: len(boxes)])
        items.append(
            Item(
                f"sub/im{index}" if index == 2 else f"im{index}",
                ImageRef(path.name, path=str(path)),
                objects,
                subset=subset,
            )
        )
    target = tmp_path / "out"
    yolo.write(Dataset(items, label_map), str(target), layout=layout)
    back = yolo.read(str(target))
    assert back.label_map.names == ["cat", "dog"]  # ids become 1.. in label-map order
    got = list(back)
    assert [(item.subset, item.id) for item in got] == [("train", "im0"), ("val", "im1"), ("val", "sub/im2")]
    for original, copied in zip(items, got, strict=True):
        assert copied.image.read() == original.image.read()
        assert np.allclose(copied.objects.boxes, original.objects.boxes, atol=1e-6)
        names = [label_map.name_of(i) for i in original.objects.label_ids]
        assert [back.label_map.name_of(i) for i in copied.objects.label_ids] == names
    if layout == "darknet":
        assert (target / "train.txt").read_text() == "data/obj_train_data/im0.jpg\n"
        assert "val = data/val.txt" in (target / "obj.data").read_text()
    else:
        config = yaml.safe_load((target / "data.yaml").read_text())
        assert config == {"train": "images/train", "val": "images/val", "nc": 2, "names": {0: "cat", 1: "dog"}}
        assert (target / "labels" / "val" / "sub" / "im2.txt").read_text() == ""


def test_crowd_regions_are_left_out_with_a_count(tmp_path: Path) -> None:
    objects = Objects.from_boxes([[0, 0, 2, 2], [1, 1, 3, 3]], [1, 1], is_crowd=[True, False])
    items = [Item("a", ImageRef("a.jpg", width=4, height=4), objects)]
    with pytest.warns(UserWarning, match="1 crowd region"):
        yolo.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "out"), save_images=False)
    assert (tmp_path / "out" / "labels" / "train" / "a.txt").read_text() == "0 0.5 0.5 0.5 0.5\n"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [5]))]
    with pytest.raises(FormatError, match="label id 5"):
        yolo.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "out"), save_images=False)
    items = [Item("a", ImageRef("a.jpg", width=4, height=4), subset="names")]
    with pytest.raises(FormatError, match="obj.data key"):
        yolo.write(Dataset(items, LabelMap()), str(tmp_path / "out"), layout="darknet", save_images=False)
    assert os.listdir(tmp_path) == []


def test_detect(tmp_path: Path) -> None:
    assert yolo.detect(str(make_darknet(tmp_path / "d"))) and yolo.detect(str(make_ultralytics(tmp_path / "u")))
    assert yolo.detect(str(tmp_path / "u" / "data.yaml"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.yaml").write_text("epochs: 3\n")
    assert not yolo.detect(str(tmp_path / "other"))


def test_tfrecord_round_trip(tmp_path: Path) -> None:
    from tfodkit.formats import tfod

    root = make_darknet(tmp_path / "yolo")
    source = yolo.read(str(root))
    tfod.write(source, str(tmp_path / "records"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yolo.write(tfod.read(str(tmp_path / "records")), str(tmp_path / "back"), layout="darknet")
    back = {item.id: item for item in yolo.read(str(tmp_path / "back"))}
    for original in source:
        copied = back[original.id]
        assert copied.image.read() == original.image.read()
        assert np.allclose(copied.objects.boxes, original.objects.boxes, atol=1e-4)
        assert copied.objects.label_ids.tolist() == original.objects.label_ids.tolist()
