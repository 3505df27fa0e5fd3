"""More real layouts read: YOLO labels folders without data.yaml (Ultralytics / Datumaro ``yolo`` loose layouts)
and Roboflow's COCO export (``<split>/_annotations.coco.json``, images beside)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import run

from tfodkit import read_dataset
from tfodkit.errors import FormatError
from tfodkit.formats import coco, detect_format, yolo
from tfodkit.samples import make_jpeg
from tfodkit.tolerance import skipping_bad_items


# ---------------------------------------------------------------------------------------------- YOLO labels folders
def make_yolo_labels(root: Path, names_file: str = "classes.txt", labels_dir: str = "labels") -> Path:
    """images/{train,val}/ + labels/{train,val}/ + a names file; train/c.jpg has no label file (a negative)."""
    root.mkdir(parents=True)
    (root / names_file).write_text("car\nperson\n", encoding="utf-8")
    layout = {
        ("train", "a"): (40, 20, "0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.1 0.2\n"),
        ("train", "c"): (10, 10, None),
        ("val", "b"): (20, 20, "1 0.5 0.5 1 1\n"),
    }
    for (subset, name), (width, height, text) in layout.items():
        (root / "images" / subset).mkdir(parents=True, exist_ok=True)
        (root / labels_dir / subset).mkdir(parents=True, exist_ok=True)
        (root / "images" / subset / f"{name}.jpg").write_bytes(make_jpeg(width, height, len(name)))
        if text is not None:
            (root / labels_dir / subset / f"{name}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("names_file", "labels_dir"), [("classes.txt", "labels"), ("obj.names", "annotations")])
def test_yolo_labels_folders_without_data_yaml(tmp_path: Path, names_file: str, labels_dir: str) -> None:
    root = make_yolo_labels(tmp_path / "ds", names_file, labels_dir)
    assert detect_format(str(root)) == "yolo"
    dataset = yolo.read(str(root))
    assert dataset.label_map.names == ["car", "person"]
    items = {(item.subset, item.id): item for item in dataset}
    assert sorted(items) == [("train", "a"), ("train", "c"), ("val", "b")]
    assert items["train", "a"].objects.boxes.tolist() == [[10.0, 5.0, 30.0, 15.0], [8.0, 3.0, 12.0, 7.0]]
    assert items["train", "a"].objects.label_ids.tolist() == [1, 2]
    assert len(items["train", "c"].objects) == 0  # an image without a label file is a negative, kept
    assert items["val", "b"].objects.label_ids.tolist() == [2]
    assert items["val", "b"].image.name == "b.jpg"


def test_yolo_labels_folders_flat_is_the_default_subset(tmp_path: Path) -> None:
    # Datumaro's layout without subset folders: labels/a.txt, images/a.jpg -> subset "default"
    (tmp_path / "obj.names").write_text("car\n", encoding="utf-8")
    (tmp_path / "labels").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(make_jpeg(10, 10, 1))
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n", encoding="utf-8")
    [item] = list(yolo.read(str(tmp_path), layout="labels"))
    assert (item.subset, item.id, item.objects.label_ids.tolist()) == ("default", "a", [1])


def test_yolo_labels_folders_label_without_image_is_a_bad_item(tmp_path: Path) -> None:
    root = make_yolo_labels(tmp_path / "ds")
    (root / "labels" / "val" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n", encoding="utf-8")
    with pytest.raises(FormatError, match="ghost.txt: a label file without its image"):
        list(yolo.read(str(root)))
    with skipping_bad_items() as skipped:
        assert len(list(yolo.read(str(root)))) == 3
    assert skipped.count == 1


def test_yolo_labels_folders_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    root = make_yolo_labels(tmp_path / "ds")
    (root / "labels" / "val" / "b.txt").write_text("1 0.5 0.5 1 1\n7 0.5 0.5 0.1 0.1\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"b\.txt.*line 2|line 2.*b\.txt"):
        list(yolo.read(str(root)))


def test_yolo_labels_folders_need_a_names_file(tmp_path: Path) -> None:
    root = make_yolo_labels(tmp_path / "ds")
    (root / "classes.txt").unlink()
    with pytest.raises(FormatError, match="names file"):
        yolo.read(str(root), layout="labels")
    assert not yolo.detect(str(root))


def test_yolo_labels_folders_convert_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_yolo_labels(tmp_path / "ds")
    assert run("convert", str(root), str(tmp_path / "out.zip"), "--to", "cvat-tfrecord", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["from"], report["items"], report["objects"]) == ("yolo", 3, 3)
    assert report["items_per_subset"] == {"train": 2, "val": 1}


# ---------------------------------------------------------------------------------------------- Roboflow COCO
def make_roboflow(root: Path) -> Path:
    """Roboflow's "COCO" export: train/, valid/, test/ each with _annotations.coco.json and the images beside it;
    category 0 is the dataset's supercategory (no annotations), as Roboflow writes it."""
    categories = [
        {"id": 0, "name": "vehicles", "supercategory": "none"},
        {"id": 1, "name": "car", "supercategory": "vehicles"},
        {"id": 2, "name": "truck", "supercategory": "vehicles"},
    ]
    for split_index, split in enumerate(["train", "valid", "test"]):
        folder = root / split
        folder.mkdir(parents=True)
        images, annotations = [], []
        for index in range(2):
            file_name = f"{split}_{index}_jpg.rf.abc{index}.jpg"
            (folder / file_name).write_bytes(make_jpeg(32, 24, 10 * split_index + index))
            images.append({"id": index, "file_name": file_name, "width": 32, "height": 24})
            annotations.append(
                {
                    "id": index,
                    "image_id": index,
                    "category_id": 1 + index,
                    "bbox": [2, 3, 10, 8],
                    "area": 80,
                    "iscrowd": 0,
                    "segmentation": [],
                }
            )
        document = {"info": {}, "licenses": [], "categories": categories, "images": images, "annotations": annotations}
        (folder / "_annotations.coco.json").write_text(json.dumps(document), encoding="utf-8")
    return root


def test_roboflow_coco_export_is_detected_and_read_with_subsets(tmp_path: Path) -> None:
    root = make_roboflow(tmp_path / "rf")
    assert detect_format(str(root)) == "coco"
    dataset = coco.read(str(root))
    assert dataset.label_map.names == ["vehicles", "car", "truck"]
    assert 0 not in dataset.label_map  # category 0 moved to id 1: id 0 means unlabeled here
    items = list(dataset)
    assert [item.subset for item in items] == ["test", "test", "train", "train", "valid", "valid"]
    names = [dataset.label_map.name_of(item.objects.label_ids[0]) for item in items]
    assert names == ["car", "truck"] * 3
    assert items[2].image.read() == (root / "train" / items[2].image.name).read_bytes()
    assert items[2].objects.boxes.tolist() == [[2.0, 3.0, 12.0, 11.0]]


def test_roboflow_coco_one_split_folder_or_file(tmp_path: Path) -> None:
    root = make_roboflow(tmp_path / "rf")
    assert {item.subset for item in coco.read(str(root / "valid"))} == {"valid"}
    assert {item.subset for item in coco.read(str(root / "valid" / "_annotations.coco.json"))} == {"valid"}
    assert [item.subset for item in coco.read(str(root), subset="test")] == ["test", "test"]


def test_roboflow_coco_to_records_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_roboflow(tmp_path / "rf")
    assert run("convert", str(root), str(tmp_path / "out.zip"), "--to", "cvat-tfrecord", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items_per_subset"] == {"train": 2, "valid": 2, "test": 2}
    assert report["objects_per_label"] == {"car": 3, "truck": 3}
    back = read_dataset(str(tmp_path / "out.zip"))
    assert sorted({item.subset for item in back}) == ["test", "train", "valid"]
