"""The detection schema: item <-> Example, record files, subsets, shards, labels, masks, extras."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from tfodkit.errors import FormatError
from tfodkit.example import decode_example, encode_example
from tfodkit.formats import tfod, tfod_files
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.records import RecordWriter


def test_item_round_trip_keeps_boxes_labels_flags_masks(dataset: Dataset) -> None:
    for item in dataset:
        features = decode_example(tfod.item_to_example(item, dataset.label_map))
        back = tfod.example_to_item(features, dataset.label_map, subset=item.subset)
        assert back.id == item.id and back.image.name == item.image.name
        assert back.image.read() == item.image.read()
        assert np.allclose(back.objects.boxes, item.objects.boxes, atol=1e-4 * 100)
        assert back.objects.label_ids.tolist() == item.objects.label_ids.tolist()
        for name in ("difficult", "truncated", "pose"):
            assert back.objects.attribute(name) == item.objects.attribute(name)
        for original, decoded in zip(item.objects.masks, back.objects.masks, strict=True):
            assert (original is None) == (decoded is None)
            if original is not None:
                assert np.array_equal(original.array, decoded.array)
        assert back.attributes["source_id"] == item.attributes["source_id"]


def test_written_keys_follow_the_schema(dataset: Dataset) -> None:
    item = next(iter(dataset))
    features = decode_example(tfod.item_to_example(item, dataset.label_map))
    encoded = item.image.read()
    assert features["image/encoded"] == [encoded]
    assert features["image/format"] == [b"jpeg"]
    assert features["image/key/sha256"] == [hashlib.sha256(encoded).hexdigest().encode()]
    assert features["image/object/class/text"] == [b"car", b'it\'s "quoted"']
    assert features["image/object/view"] == [b"Left", b"Unspecified"]
    assert features["image/object/difficult"].tolist() == [0, 1]
    width, height = item.image.size
    assert features["image/object/bbox/xmax"].tolist() == pytest.approx([30 / width, (width - 1) / width])
    # Only the masked object has foreground; the other gets an all-zero PNG TensorFlow can decode.
    assert len(features["image/object/mask"]) == 2


def test_without_images_the_image_keys_are_present_and_empty(dataset: Dataset) -> None:
    item = next(iter(dataset))
    features = decode_example(tfod.item_to_example(item, dataset.label_map, save_images=False))
    assert features["image/encoded"] == [b""] and features["image/format"] == [b""]
    assert features["image/key/sha256"] == [b""]


def test_image_without_objects_still_gives_a_record(dataset: Dataset) -> None:
    last = list(dataset)[-1]
    features = decode_example(tfod.item_to_example(last, dataset.label_map))
    assert features["image/object/bbox/xmin"].size == 0
    assert tfod.example_to_item(features, dataset.label_map).objects.boxes.shape == (0, 4)


def test_minimal_records_import_with_defaults() -> None:
    """No source_id, no format, no encoded, class/label only: every object kept (Datumaro loses them)."""
    record = encode_example(
        {
            "image/filename": [b"a.png"],
            "image/height": [10],
            "image/width": [20],
            "image/object/bbox/xmin": np.array([0.1, 0.5], np.float32),
            "image/object/bbox/xmax": np.array([0.2, 0.9], np.float32),
            "image/object/bbox/ymin": np.array([0.0, 0.5], np.float32),
            "image/object/bbox/ymax": np.array([1.0, 0.6], np.float32),
            "image/object/class/label": [3, 7],
        }
    )
    label_map = LabelMap.from_names(["a", "b", "c"])  # ids 1..3: id 7 unknown
    item = tfod.example_to_item(decode_example(record), label_map)
    assert item.id == "a" and len(item.objects) == 2
    assert [label_map.name_of(i) for i in item.objects.label_ids] == ["c", "label_7"]
    assert item.objects.boxes[1].tolist() == pytest.approx([10, 5, 18, 6], abs=1e-5)


def test_class_text_wins_and_new_names_keep_their_ids() -> None:
    label_map = LabelMap([])
    record = encode_example(
        {
            "image/filename": [b"x.jpg"],
            "image/height": [4],
            "image/width": [4],
            "image/object/bbox/xmin": [0.0],
            "image/object/bbox/xmax": [1.0],
            "image/object/bbox/ymin": [0.0],
            "image/object/bbox/ymax": [1.0],
            "image/object/class/text": ["voiture rouge"],
            "image/object/class/label": [5],
        }
    )
    item = tfod.example_to_item(decode_example(record), label_map)
    assert label_map.id_of("voiture rouge") == 5 and item.objects.label_ids.tolist() == [5]


def test_unknown_keys_survive_a_round_trip(dataset: Dataset) -> None:
    item = next(iter(dataset))
    features = decode_example(tfod.item_to_example(item, dataset.label_map))
    features["image/object/densepose/x"] = np.array([0.5, 0.25], np.float32)  # keypoints are modelled now
    features["my/custom"] = [b"\xff\x00raw"]
    back = tfod.example_to_item(features, dataset.label_map)
    again = decode_example(tfod.item_to_example(back, dataset.label_map))
    assert again["my/custom"] == [b"\xff\x00raw"]
    assert again["image/object/densepose/x"].tolist() == [0.5, 0.25]


def test_list_lengths_that_disagree_name_the_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.tfrecord"
    good = {"image/filename": [b"a.jpg"], "image/height": [4], "image/width": [4]}
    bad = dict(
        good,
        **{
            "image/object/bbox/xmin": [0.0, 0.1],
            "image/object/bbox/xmax": [1.0],
            "image/object/bbox/ymin": [0.0, 0.1],
            "image/object/bbox/ymax": [1.0, 1.0],
            "image/object/class/label": [1, 1],
        },
    )
    with RecordWriter(str(path)) as writer:
        writer.write(encode_example(good))
        writer.write(encode_example(bad))
    with pytest.raises(FormatError) as raised:
        list(tfod.read(str(path)))
    assert raised.value.record_index == 1 and str(path) in str(raised.value)
    assert "image/object/bbox/xmax" in str(raised.value)


def test_folder_output_has_a_file_per_subset_and_a_label_map(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]
    back = tfod.read(str(tmp_path / "out"))
    items = list(back)
    assert sorted({item.subset for item in items}) == ["train", "val"]
    assert back.label_map == dataset.label_map


def test_shards_are_complete_deterministic_and_read_back_as_one_subset(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "a" / "data.tfrecord"), shards=3)
    tfod.write(dataset, str(tmp_path / "b" / "data.tfrecord"), shards=3, workers=2)
    names = sorted(os.listdir(tmp_path / "a"))
    assert names == [
        "data-00000-of-00003.tfrecord",
        "data-00001-of-00003.tfrecord",
        "data-00002-of-00003.tfrecord",
        "label_map.pbtxt",
    ]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    items = list(tfod.read(str(tmp_path / "a" / "data.tfrecord")))
    assert sorted(item.id for item in items) == sorted(item.id for item in dataset)
    assert {item.subset for item in items} == {"data"}


def test_workers_give_identical_bytes(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "one.tfrecord"), workers=1)
    tfod.write(dataset, str(tmp_path / "two" / "one.tfrecord"), workers=2)
    assert (tmp_path / "one.tfrecord").read_bytes() == (tmp_path / "two" / "one.tfrecord").read_bytes()


def test_a_failed_write_leaves_nothing(tmp_path: Path, dataset: Dataset) -> None:
    def items():
        yield from list(dataset)[:2]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        tfod.write(Dataset(items, dataset.label_map), str(tmp_path / "out"))
    assert os.listdir(tmp_path) == ["images"]


def test_numerical_masks_read_back(dataset: Dataset) -> None:
    item = next(iter(dataset))
    features = decode_example(tfod.item_to_example(item, dataset.label_map, numerical_masks=True))
    width, height = item.image.size
    assert features["image/object/mask"].size == 2 * width * height
    back = tfod.example_to_item(features, dataset.label_map)
    assert np.array_equal(back.objects.masks[0].array, item.objects.masks[0].array)
    assert back.objects.masks[1] is None


def test_records_read_from_a_glob_and_their_subsets(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "out"))
    groups = tfod_files.record_files(str(tmp_path / "out" / "*.tfrecord"))
    assert [subset for subset, _ in groups] == ["train", "val"]
    assert tfod_files.subset_of("x/train-00001-of-00004.tfrecord") == "train"
    assert tfod_files.subset_of("val.record.gz") == "val"


def test_embedded_image_gives_its_size_when_the_record_has_none(dataset: Dataset) -> None:
    item = next(iter(dataset))
    features = decode_example(tfod.item_to_example(item, dataset.label_map))
    del features["image/height"], features["image/width"]
    back = tfod.example_to_item(features, dataset.label_map)
    assert back.image.size == item.image.size


def test_label_not_in_the_label_map_is_a_format_error() -> None:
    item = Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [9]))
    with pytest.raises(FormatError, match="label id 9"):
        tfod.item_to_example(item, LabelMap.from_names(["x"]))


def test_mask_shape_must_match_the_image() -> None:
    item = Item(
        "a",
        ImageRef("a.jpg", width=4, height=4),
        Objects(boxes=[[0, 0, 1, 1]], label_ids=[1], masks=[Mask.from_array(np.ones((3, 3), bool))]),
    )
    with pytest.raises(FormatError, match="mask of 3x3 pixels on an image of 4x4"):
        tfod.item_to_example(item, LabelMap.from_names(["x"]), numerical_masks=True)
