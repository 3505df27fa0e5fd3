"""Layouts other tools really write: Roboflow's YOLOv8 export (``train: ../train/images``) and FiftyOne's
TFObjectDetectionDataset (``tf.records``, sharded ``tf.records-0000i-of-0000N``, absolute ``image/filename``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.example import encode_example
from tfodkit.formats import detect_format
from tfodkit.pipeline import convert, read_dataset
from tfodkit.records import RecordWriter
from tfodkit.samples import make_jpeg


def roboflow_export(root: Path) -> Path:
    """What Roboflow's "YOLOv8" download unpacks to: data.yaml with ../ paths beside train/ valid/ test/."""
    for index, split in enumerate(("train", "valid", "test")):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        name = f"img {index}_jpg.rf.{index}abc.jpg"  # Roboflow's odd names: spaces, dots
        (root / split / "images" / name).write_bytes(make_jpeg(40, 20, seed=index))
        label = "0 0.5 0.5 1 1\n1 0.25 0.25 0.5 0.5\n" if split != "test" else ""  # an empty image too
        (root / split / "labels" / name.replace(".jpg", ".txt")).write_text(label)
    (root / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 2\nnames: ['cat', 'dog']\n\n"
        "roboflow:\n  workspace: w\n  project: p\n  version: 1\n"
    )
    return root


def test_roboflow_yolov8_paths_resolve_from_the_dataset_root(tmp_path: Path) -> None:
    root = roboflow_export(tmp_path / "rf")
    dataset = read_dataset(str(root))
    items = list(dataset)
    assert sorted((item.subset, len(item.objects)) for item in items) == [("test", 0), ("train", 2), ("val", 2)]
    assert dataset.label_map.names == ["cat", "dog"]
    assert np.allclose(items[0].objects.boxes, [[0, 0, 40, 20], [0, 0, 20, 10]])


def test_roboflow_export_converts_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = roboflow_export(tmp_path / "rf")
    assert run("convert", str(root / "data.yaml"), str(tmp_path / "out"), "--to", "tfrecord", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["items"], summary["objects"]) == (3, 4)


def test_a_missing_split_is_still_an_error(tmp_path: Path) -> None:
    root = roboflow_export(tmp_path / "rf")
    (root / "data.yaml").write_text("train: ../nowhere/images\nnames: ['cat']\n")
    with pytest.raises(Exception, match="the train split '../nowhere/images' is not found"):
        read_dataset(str(root))


def fiftyone_record(path: str, index: int, with_box: bool = True) -> bytes:
    boxes = [0.0, 0.25, 1.0, 1.0] if with_box else []  # an edge box: exactly on the border
    return encode_example(
        {
            "image/filename": [path.encode()],
            "image/source_id": [path.encode()],
            "image/height": [20],
            "image/width": [40],
            "image/format": [b"jpeg"],
            "image/encoded": [make_jpeg(40, 20, seed=index)],
            "image/object/bbox/xmin": np.array(boxes[:1], np.float32),
            "image/object/bbox/ymin": np.array(boxes[1:2], np.float32),
            "image/object/bbox/xmax": np.array(boxes[2:3], np.float32),
            "image/object/bbox/ymax": np.array(boxes[3:], np.float32),
            "image/object/class/text": [b"cat"] if with_box else [],
            "image/object/class/label": np.array([1] if with_box else [], np.int64),
        }
    )


def fiftyone_export(folder: Path, shards: int = 0) -> Path:
    """FiftyOne's export: absolute image paths, two of them with one base name, and an image without objects."""
    folder.mkdir(parents=True)
    paths = ["/data/run1/frame.jpg", "/data/run2/frame.jpg", "/data/run2/empty image.jpg"]
    records = [fiftyone_record(path, index, index < 2) for index, path in enumerate(paths)]
    names = [f"tf.records-{i:05d}-of-{shards:05d}" for i in range(shards)] if shards else ["tf.records"]
    for shard, name in enumerate(names):
        with RecordWriter(str(folder / name)) as writer:
            for record in records[shard :: len(names)]:
                writer.write(record)
    return folder


@pytest.mark.parametrize("shards", [0, 2])
def test_fiftyone_records_are_detected(tmp_path: Path, shards: int) -> None:
    folder = fiftyone_export(tmp_path / "fo", shards)
    assert detect_format(str(folder)) == "tfrecord"
    if not shards:
        assert detect_format(str(folder / "tf.records")) == "tfrecord"
    else:
        assert detect_format(str(folder / "tf.records-00001-of-00002")) == "tfrecord"
    items = list(read_dataset(str(folder)))
    assert sorted(item.image.name for item in items) == sorted(
        ["/data/run1/frame.jpg", "/data/run2/frame.jpg", "/data/run2/empty image.jpg"]
    )
    assert {item.subset for item in items} == {"default"}


@pytest.mark.parametrize("target_format", ["voc", "coco", "yolo", "cvat"])
def test_fiftyone_absolute_names_become_safe_file_names(tmp_path: Path, target_format: str) -> None:
    folder = fiftyone_export(tmp_path / "fo")
    target = tmp_path / target_format
    report = convert(
        str(folder / "tf.records"), str(target), to_format=target_format, write_options={"save_images": True}
    )
    assert report.losses == {"image_renamed": 1}
    back = list(read_dataset(str(target), target_format))
    assert sorted(item.id for item in back) == ["empty image", "frame", "frame_1"]
    assert not any(path.is_symlink() for path in target.rglob("*"))
    assert all(str(path.resolve()).startswith(str(target.resolve())) for path in target.rglob("*"))


def test_fiftyone_to_voc_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = fiftyone_export(tmp_path / "fo", shards=2)
    assert run("convert", str(folder), str(tmp_path / "voc"), "--to", "voc", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["losses"] == {"image_renamed": 1}
    assert "tfod: lost: 1 images renamed" in captured.err
    assert sorted(path.name for path in (tmp_path / "voc").rglob("*.xml")) == [
        "empty image.xml",
        "frame.xml",
        "frame_1.xml",
    ]
    # TFRecord output keeps the names as they were: nothing renamed, nothing lost.
    report = convert(str(folder), str(tmp_path / "copy.tfrecord"), to_format="tfrecord")
    assert report.losses == {}
    assert "/data/run1/frame.jpg" in {item.image.name for item in read_dataset(str(tmp_path / "copy.tfrecord"))}


@pytest.mark.parametrize("to_format", ["coco", "yolo"])
def test_two_items_naming_one_image_file_are_refused(tmp_path: Path, to_format: str) -> None:
    from tfodkit.errors import FormatError
    from tfodkit.formats import tfod
    from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    from tfodkit.pipeline import convert
    from tfodkit.samples import make_jpeg

    items = [  # two items (ids differ) whose images have one name: the second would overwrite the first's file
        Item(item_id, ImageRef("same.jpg", data=make_jpeg(8, 6, seed), width=8, height=6), Objects())
        for seed, item_id in enumerate(["a", "b"])
    ]
    tfod.write(Dataset(items, LabelMap.from_names(["car"])), str(tmp_path / "in.tfrecord"))
    with pytest.raises(FormatError, match="two items share the image file name 'same.jpg'"):
        convert(str(tmp_path / "in.tfrecord"), str(tmp_path / "out"), to_format=to_format)
    assert not (tmp_path / "out").exists()
