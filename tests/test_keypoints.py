"""Keypoints end to end: the label map's keypoints blocks, TFRecord keypoint keys, COCO person_keypoints, YOLO pose,
CVAT <points>/<skeleton>, the keypoints_dropped / skeleton_dropped losses, and validate, stats, diff, preview."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from _cli import run
from PIL import Image

from tfodkit.errors import FormatError, LabelMapError
from tfodkit.example import decode_example, encode_example
from tfodkit.formats import coco, cvat_xml, tfod, yolo
from tfodkit.inspection.diff import diff_datasets
from tfodkit.inspection.preview import render_item
from tfodkit.inspection.stats import compute_stats
from tfodkit.inspection.validate import validate
from tfodkit.labelmap import format_label_map, parse_label_map
from tfodkit.model import KEYPOINTS, Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.pipeline import read_dataset
from tfodkit.records import RecordWriter

NAMES = ["nose", "left_eye", "right_eye"]
SKELETON = [(1, 2), (1, 3)]


def person_labels() -> LabelMap:
    label_map = LabelMap()
    label_map.add("person", keypoints=NAMES, skeleton=SKELETON)
    label_map.add("car")
    return label_map


def png(path: Path, width: int = 40, height: int = 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (10, 20, 30)).save(path)
    return path


def sample_items(folder: Path) -> list[Item]:
    """Two images: a person with 2 labeled points (one hidden) and a car; a person with no point labeled."""
    first = Objects.from_boxes(
        [[2, 2, 30, 18], [1, 1, 5, 5]],
        [1, 2],
        **{KEYPOINTS: [np.array([[10.0, 5.0, 2.0], [0.0, 0.0, 0.0], [20.0, 15.0, 1.0]]), None]},
    )
    second = Objects.from_boxes([[0, 0, 8, 8]], [1])
    return [
        Item("a", ImageRef("a.png", path=str(png(folder / "a.png")), width=40, height=20), first),
        Item("b", ImageRef("b.png", path=str(png(folder / "b.png")), width=40, height=20), second),
    ]


def points_of(item: Item) -> list[list[list[float]] | None]:
    return [None if points is None else np.round(points, 4).tolist() for points in item.objects.attribute(KEYPOINTS)]


EXPECTED_FIRST = [[[10.0, 5.0, 2.0], [0.0, 0.0, 0.0], [20.0, 15.0, 1.0]], None]


# --------------------------------------------------------------------------------------------- label map
def test_label_keeps_names_and_skeleton_and_checks_the_pairs() -> None:
    label_map = person_labels()
    assert label_map[1].keypoints == tuple(NAMES) and label_map[1].skeleton == ((1, 2), (1, 3))
    assert label_map.copy() == label_map
    with pytest.raises(LabelMapError, match="skeleton pair"):
        LabelMap().add("person", keypoints=["nose"], skeleton=[(1, 2)])


def test_label_map_pbtxt_keypoints_blocks_round_trip_and_protobuf_reads_them() -> None:
    text = format_label_map(person_labels())
    assert "keypoints {\n    id: 0\n    label: 'nose'\n  }" in text
    back = parse_label_map(text)
    assert back[1].keypoints == tuple(NAMES) and back[2].keypoints == ()
    from google.protobuf import text_format
    from test_labelmap import label_map_message_class

    message = text_format.Parse(text, label_map_message_class()())
    assert [(point.id, point.label) for point in message.item[0].keypoints] == [
        (0, "nose"),
        (1, "left_eye"),
        (2, "right_eye"),
    ]


def test_label_map_keypoint_ids_with_a_gap_name_the_line() -> None:
    with pytest.raises(LabelMapError, match="0, 1, 2") as raised:
        parse_label_map(
            "item {\n id: 1\n name: 'p'\n keypoints { id: 0 label: 'a' }\n keypoints { id: 2 label: 'b' }\n}"
        )
    assert raised.value.line == 1


# --------------------------------------------------------------------------------------------- TFRecord
def test_record_keys_are_the_od_api_layout(tmp_path: Path) -> None:
    items = sample_items(tmp_path)
    features = decode_example(tfod.item_to_example(items[0], person_labels()))
    # K = 3 points per object, flattened over both objects; the car is padded with unlabeled points
    np.testing.assert_allclose(features["image/object/keypoint/x"], [0.25, 0, 0.5, 0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(features["image/object/keypoint/y"], [0.25, 0, 0.75, 0, 0, 0], atol=1e-7)
    assert features["image/object/keypoint/visibility"].tolist() == [2, 0, 1, 0, 0, 0]
    assert features["image/object/keypoint/num"].tolist() == [2, 0]  # labeled points, as COCO's num_keypoints
    assert features["image/object/keypoint/text"] == [name.encode() for name in NAMES] + [b"1", b"2", b"3"]
    # a record without points still has K per object when the labels name points (the decoder needs them)
    no_points = decode_example(tfod.item_to_example(items[1], person_labels()))
    assert no_points["image/object/keypoint/visibility"].tolist() == [0, 0, 0]
    assert no_points["image/object/keypoint/num"].tolist() == [0]
    plain = decode_example(tfod.item_to_example(items[1], LabelMap.from_names(["person"])))
    assert not any(key.startswith("image/object/keypoint/") for key in plain)


def test_tfrecord_round_trip_keeps_points_names_and_counts_the_skeleton(tmp_path: Path) -> None:
    target = tmp_path / "out" / "train.tfrecord"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tfod.write(Dataset(sample_items(tmp_path), person_labels()), str(target))
    assert any("1 label skeletons not written" in str(warning.message) for warning in caught)
    dataset = tfod.read(str(target))
    items = list(dataset)
    assert points_of(items[0]) == EXPECTED_FIRST
    assert KEYPOINTS not in items[1].objects.attributes
    assert dataset.label_map[1].keypoints == tuple(NAMES)
    assert "tfrecord_features" not in items[0].attributes  # the keys are modelled, not carried raw


def test_a_record_from_elsewhere_nan_points_and_missing_visibility(tmp_path: Path) -> None:
    features = {
        "image/filename": [b"x.jpg"],
        "image/width": [10],
        "image/height": [10],
        **{key: [0.0] for key in ("image/object/bbox/xmin", "image/object/bbox/ymin")},
        **{key: [1.0] for key in ("image/object/bbox/xmax", "image/object/bbox/ymax")},
        "image/object/class/text": [b"hand"],
        "image/object/keypoint/x": [0.5, float("nan")],
        "image/object/keypoint/y": [0.2, float("nan")],
        "image/object/keypoint/text": [b"thumb", b"index"],
    }
    item = tfod.example_to_item(decode_example(encode_example(features)), label_map := LabelMap())
    assert points_of(item) == [[[5.0, 2.0, 2.0], [0.0, 0.0, 0.0]]]  # NaN: the OD API's "no point"
    assert label_map[1].keypoints == ("thumb", "index")


def test_points_not_shared_evenly_name_the_record(tmp_path: Path) -> None:
    features = {
        "image/filename": [b"x.jpg"],
        "image/width": [10],
        "image/height": [10],
        **{key: [0.0, 0.0] for key in ("image/object/bbox/xmin", "image/object/bbox/ymin")},
        **{key: [1.0, 1.0] for key in ("image/object/bbox/xmax", "image/object/bbox/ymax")},
        "image/object/class/label": [1, 1],
        "image/object/keypoint/x": [0.5, 0.5, 0.5],
        "image/object/keypoint/y": [0.5, 0.5, 0.5],
    }
    path = tmp_path / "bad.tfrecord"
    with RecordWriter(str(path)) as writer:
        writer.write(encode_example(features))
    with pytest.raises(FormatError, match="same number of points") as raised:
        list(tfod.read(str(path)))
    assert raised.value.record_index == 0 and str(path) in str(raised.value)


# --------------------------------------------------------------------------------------------- COCO
def write_person_keypoints(folder: Path) -> Path:
    png(folder / "images" / "p.png", 64, 48)
    document = {
        "images": [{"id": 7, "file_name": "p.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "person", "keypoints": NAMES, "skeleton": [[1, 2], [1, 3]]}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [4, 4, 40, 40], "area": 1600, "iscrowd": 0,
             "keypoints": [20, 10, 2, 0, 0, 0, 30, 12, 1], "num_keypoints": 2},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0,
             "keypoints": [0, 0, 0, 0, 0, 0, 0, 0, 0], "num_keypoints": 0},
        ],
    }  # fmt: skip
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    (folder / "annotations" / "instances_val.json").write_text(json.dumps(document))
    return folder


def test_coco_person_keypoints_read_write_and_through_records(tmp_path: Path) -> None:
    folder = write_person_keypoints(tmp_path / "coco")
    dataset = coco.read(str(folder))
    item = next(iter(dataset))
    assert points_of(item) == [[[20.0, 10.0, 2.0], [0.0, 0.0, 0.0], [30.0, 12.0, 1.0]], None]
    assert dataset.label_map[1].skeleton == ((1, 2), (1, 3))

    assert run("convert", str(folder), str(tmp_path / "rec"), "--to", "tfrecord", "-q") == 0
    assert run("convert", str(tmp_path / "rec"), str(tmp_path / "back"), "--to", "coco", "-q") == 0
    written = json.loads((tmp_path / "back" / "annotations" / "instances_val.json").read_text())
    assert written["categories"][0]["keypoints"] == NAMES
    annotations = written["annotations"]
    assert annotations[0]["keypoints"] == [20, 10, 2, 0, 0, 0, 30, 12, 1] and annotations[0]["num_keypoints"] == 2
    assert annotations[1]["keypoints"] == [0] * 9 and annotations[1]["num_keypoints"] == 0


def test_coco_keypoints_that_are_not_triples_name_the_annotation(tmp_path: Path) -> None:
    folder = write_person_keypoints(tmp_path / "coco")
    path = folder / "annotations" / "instances_val.json"
    document = json.loads(path.read_text())
    document["annotations"][0]["keypoints"] = [1, 2, 2, 5]
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match="annotation 1: keypoints"):
        list(coco.read(str(folder)))


# --------------------------------------------------------------------------------------------- YOLO pose
def test_yolo_pose_round_trip(tmp_path: Path) -> None:
    yolo.write(Dataset(sample_items(tmp_path), person_labels()), str(tmp_path / "yolo"))
    config = (tmp_path / "yolo" / "data.yaml").read_text()
    assert "kpt_shape:\n- 3\n- 3" in config
    line = (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().splitlines()[0]
    assert line.split()[5:] == ["0.25", "0.25", "2", "0", "0", "0", "0.5", "0.75", "1"]
    items = list(yolo.read(str(tmp_path / "yolo")))
    assert points_of(items[0]) == EXPECTED_FIRST


def test_yolo_pose_with_two_values_a_point_and_a_short_line(tmp_path: Path) -> None:
    root = tmp_path / "pose"
    png(root / "images" / "train" / "a.png", 10, 10)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.4 0.4 0.3 0.4 0 0\n")
    (root / "data.yaml").write_text("train: images/train\nnames: [hand]\nkpt_shape: [2, 2]\n")
    dataset = yolo.read(str(root))
    assert points_of(next(iter(dataset))) == [[[3.0, 4.0, 2.0], [0.0, 0.0, 0.0]]]
    assert dataset.label_map[1].keypoints == ("1", "2")
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.4 0.4 0.3 0.4\n")
    with pytest.raises(FormatError, match="kpt_shape") as raised:
        list(yolo.read(str(root)))
    assert raised.value.line == 1


# --------------------------------------------------------------------------------------------- CVAT
CVAT_SKELETON = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version><meta><task><labels>
  <label><name>person</name><type>skeleton</type><attributes/>
    <svg>&lt;line data-type="edge" data-node-from="2" data-node-to="1"&gt;&lt;/line&gt;
      &lt;circle data-node-id="1" data-label-name="eye"&gt;&lt;/circle&gt;
      &lt;circle data-node-id="2" data-label-name="nose"&gt;&lt;/circle&gt;</svg>
  </label>
  <label><name>nose</name><type>points</type><parent>person</parent></label>
  <label><name>eye</name><type>points</type><parent>person</parent></label>
</labels></task></meta>
<image id="0" name="a.png" width="40" height="20">
  <skeleton label="person" source="manual" z_order="0">
    <points label="eye" occluded="1" outside="0" points="12.5,6"/>
    <points label="nose" occluded="0" outside="0" points="10,5"/>
  </skeleton>
  <skeleton label="person" z_order="0">
    <points label="nose" occluded="0" outside="1" points="1,1"/>
    <points label="eye" occluded="0" outside="0" points="3,4"/>
  </skeleton>
</image></annotations>
"""


def test_cvat_skeleton_export_reads_as_keypoints(tmp_path: Path) -> None:
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "annotations.xml").write_text(CVAT_SKELETON)
    dataset = cvat_xml.read(str(tmp_path / "task"))
    item = next(iter(dataset))
    assert dataset.label_map.names == ["person"]  # sub-labels are points, not labels
    assert dataset.label_map[1].keypoints == ("nose", "eye") and dataset.label_map[1].skeleton == ((1, 2),)
    assert points_of(item) == [[[10.0, 5.0, 2.0], [12.5, 6.0, 1.0]], [[0.0, 0.0, 0.0], [3.0, 4.0, 2.0]]]
    assert item.objects.boxes.tolist() == [[10.0, 5.0, 12.5, 6.0], [3.0, 4.0, 3.0, 4.0]]  # around labeled points


def test_cvat_round_trip_keeps_the_box_beside_the_skeleton(tmp_path: Path) -> None:
    cvat_xml.write(Dataset(sample_items(tmp_path), person_labels()), str(tmp_path / "cvat"))
    text = (tmp_path / "cvat" / "annotations.xml").read_text()
    assert '<skeleton label="person" z_order="0" group_id="1">' in text
    assert '<points label="left_eye" outside="1"' in text and "<parent>person</parent>" in text
    dataset = cvat_xml.read(str(tmp_path / "cvat"))
    items = list(dataset)
    assert items[0].objects.boxes.tolist() == [[2.0, 2.0, 30.0, 18.0], [1.0, 1.0, 5.0, 5.0]]
    assert points_of(items[0]) == EXPECTED_FIRST
    assert dataset.label_map[1].keypoints == tuple(NAMES) and dataset.label_map[1].skeleton == tuple(SKELETON)


# --------------------------------------------------------------------------------------------- losses
def test_voc_and_darknet_yolo_count_keypoints_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_person_keypoints(tmp_path / "coco")
    assert run("convert", str(folder), str(tmp_path / "voc"), "--to", "voc", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["losses"]["keypoints_dropped"] == 1
    assert "<name>keypoints</name>" not in (tmp_path / "voc" / "Annotations" / "p.xml").read_text()
    assert run("convert", str(folder), str(tmp_path / "dk"), "--to", "yolo", "--layout", "darknet", "--json") == 0
    assert json.loads(capsys.readouterr().out)["losses"]["keypoints_dropped"] == 1
    assert run("convert", str(folder), str(tmp_path / "rec.tfrecord"), "--to", "tfrecord", "--json") == 0
    assert json.loads(capsys.readouterr().out)["losses"]["skeleton_dropped"] == 1
    assert run("convert", str(folder), str(tmp_path / "strict"), "--to", "voc", "--strict") == 2
    assert not (tmp_path / "strict").exists()


# --------------------------------------------------------------------------------------------- inspection
def record_with(tmp_path: Path, **keypoint_values: list[float] | list[int] | list[bytes]) -> Path:
    features = {
        "image/filename": [b"x.jpg"],
        "image/width": [10],
        "image/height": [10],
        **{key: [0.0] for key in ("image/object/bbox/xmin", "image/object/bbox/ymin")},
        **{key: [1.0] for key in ("image/object/bbox/xmax", "image/object/bbox/ymax")},
        "image/object/class/label": [1],
        "image/object/class/text": [b"person"],
        **{f"image/object/keypoint/{key}": value for key, value in keypoint_values.items()},
    }
    path = tmp_path / "one.tfrecord"
    with RecordWriter(str(path)) as writer:
        writer.write(encode_example(features))
    return path


def test_validate_checks_num_and_range(tmp_path: Path) -> None:
    path = record_with(tmp_path, x=[0.5, 1.5], y=[0.5, 0.5], visibility=[2, 2], num=[1])
    report = validate(str(path), decode_images=False)
    messages = [finding.message for finding in report.findings if finding.check == "keypoints"]
    assert any("outside [0, 1]" in message for message in messages)
    assert any("is 1 but the object has 2 labeled points" in message for message in messages)
    clean = record_with(tmp_path, x=[0.5], y=[0.5], visibility=[2], num=[1])
    assert "keypoints" not in validate(str(clean), decode_images=False).counts


def test_stats_count_objects_with_keypoints_and_visible_points(tmp_path: Path) -> None:
    target = tmp_path / "rec"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tfod.write(Dataset(sample_items(tmp_path), person_labels()), str(target))
    for path, name in ((str(target), None), (str(write_person_keypoints(tmp_path / "coco")), "coco")):
        report = compute_stats(path, name).as_dict()["keypoints"]
        assert report["objects_with_keypoints"] == 1
        assert set(report["visible_points_per_name"]) == {"nose"}


def test_diff_reports_keypoints_changed_beyond_the_tolerance(tmp_path: Path) -> None:
    items = sample_items(tmp_path)
    moved = sample_items(tmp_path)
    moved[0].objects.attributes[KEYPOINTS][0] = np.array([[10.0, 8.0, 2.0], [0.0, 0.0, 0.0], [20.0, 15.0, 1.0]])
    labels = person_labels()
    report = diff_datasets(Dataset(items, labels), Dataset(moved, labels), compare_images=False)
    assert report.counts["keypoints_changed"] == 1
    assert "point 1 moves by 3 px" in report.changed_items[0].changes[0].detail
    same = diff_datasets(Dataset(items, labels), Dataset(sample_items(tmp_path), labels), tolerance=0.5)
    assert same.identical


def test_preview_draws_joints_and_skeleton_lines(tmp_path: Path) -> None:
    item = sample_items(tmp_path)[0]
    colors = {1: (255, 0, 0), 2: (0, 255, 0)}
    image, has_image = render_item(item, person_labels(), colors)
    assert has_image
    scale = image.size[0] / 40
    joint = image.getpixel((round(10 * scale), round(5 * scale)))
    assert joint == (255, 0, 0)  # the visible nose: a filled joint
    line = image.getpixel((round(15 * scale), round(10 * scale)))  # halfway along nose -> right_eye (1, 3)
    assert line == (255, 0, 0)


def test_read_dataset_by_name_keeps_keypoints(tmp_path: Path) -> None:
    folder = write_person_keypoints(tmp_path / "coco")
    item = next(iter(read_dataset(str(folder), "coco")))
    assert item.objects.attribute(KEYPOINTS)[0] is not None


def test_filtering_and_merging_labels_keep_point_names_and_skeleton(tmp_path: Path) -> None:
    from tfodkit.dataset_transforms import filter_labels
    from tfodkit.merge import merged_dataset

    dataset = Dataset(sample_items(tmp_path), person_labels())
    kept = filter_labels(dataset, ["person"])
    assert kept.label_map.names == ["person"] and kept.label_map[1].skeleton == tuple(SKELETON)
    assert points_of(next(iter(kept)))[0] == EXPECTED_FIRST[0]
    merged = merged_dataset([Dataset([], LabelMap.from_names(["dog"])), dataset])
    list(merged)  # labels are matched while reading
    assert merged.label_map[merged.label_map.id_of("person") or 0].keypoints == tuple(NAMES)


def test_cvat_points_of_a_plain_label_stay_points(tmp_path: Path) -> None:
    labels = LabelMap.from_names(["corner"])
    points = np.array([[1.0, 2.0, 2.0], [3.5, 4.0, 2.0]])
    objects = Objects.from_boxes([[0, 0, 10, 10]], [1], **{KEYPOINTS: [points]})
    cvat_xml.write(Dataset([Item("a", ImageRef("a.png", width=20, height=20), objects)], labels), str(tmp_path / "c"))
    text = (tmp_path / "c" / "annotations.xml").read_text()
    assert '<points label="corner" points="1.0,2.0;3.5,4.0" z_order="0" group_id="1"/>' in text
    item = next(iter(cvat_xml.read(str(tmp_path / "c"))))
    assert item.objects.boxes.tolist() == [[0.0, 0.0, 10.0, 10.0]] and points_of(item) == [points.tolist()]
