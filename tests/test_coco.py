"""COCO instances: reading COCO 2017 and Datumaro layouts, the OD API's values, masks, writing, round trips."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from tfodkit.errors import FormatError
from tfodkit.formats import coco
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.samples import make_jpeg

CATEGORIES = [
    {"id": 1, "name": "person", "supercategory": "person"},
    {"id": 3, "name": "car", "supercategory": "vehicle"},
    {"id": 18, "name": "dog", "supercategory": "animal"},
]

# An uncompressed crowd RLE of a 20x30 (h x w) image: 100 background pixels, 40 foreground, the rest background.
CROWD_RLE = {"size": [20, 30], "counts": [100, 40, 460]}


def coco_document() -> dict:
    images = [
        {"id": 139, "file_name": "000000000139.jpg", "width": 30, "height": 20},
        {"id": 285, "file_name": "000000000285.jpg", "width": 24, "height": 16},
        {"id": 632, "file_name": "000000000632.jpg", "width": 16, "height": 16},
    ]
    annotations = [
        {
            "id": 1,
            "image_id": 139,
            "category_id": 1,
            "bbox": [2.5, 3, 10, 8.25],
            "area": 60.5,
            "iscrowd": 0,
            "segmentation": [[2.5, 3, 12.5, 3, 12.5, 11.25, 2.5, 11.25]],
        },
        {
            "id": 2,
            "image_id": 139,
            "category_id": 18,
            "bbox": [5, 0, 2, 20],
            "area": 40.0,
            "iscrowd": 1,
            "segmentation": CROWD_RLE,
        },
        {
            "id": 3,
            "image_id": 285,
            "category_id": 3,
            "bbox": [0, 0, 24, 16],
            "area": 100.0,
            "iscrowd": 0,
            "segmentation": [[0, 0, 24, 0, 12, 16], [1, 1, 3, 1, 3, 3]],
        },
        # Skipped as create_coco_tf_record.py skips them: zero width, negative height (a box reaching past the
        # image is an error instead, or clipped with --clip: tests/test_bad_values.py).
        {"id": 4, "image_id": 285, "category_id": 3, "bbox": [3, 3, 0, 5], "area": 0, "iscrowd": 0, "segmentation": []},
        {
            "id": 5,
            "image_id": 285,
            "category_id": 3,
            "bbox": [20, 3, 5, -5],
            "area": 25,
            "iscrowd": 0,
            "segmentation": [],
        },
        {
            "id": 6,
            "image_id": 139,
            "category_id": 3,
            "bbox": [1, 1, 4, 4],
            "area": 16,
            "iscrowd": 0,
            "segmentation": [],
            "attributes": {"occluded": True, "colour": "red"},
        },
    ]
    return {"info": {}, "licenses": [], "images": images, "annotations": annotations, "categories": CATEGORIES}


def make_coco(root: Path, subset: str = "train2017", *, layout: str = "coco2017", document: dict | None = None) -> Path:
    """COCO 2017's layout (annotations/ + <subset>/) or Datumaro's (annotations/ + images/<subset>/)."""
    document = document or coco_document()
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / f"instances_{subset}.json").write_text(json.dumps(document))
    images = root / subset if layout == "coco2017" else root / "images" / subset
    images.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(document["images"]):
        (images / image["file_name"]).write_bytes(make_jpeg(image["width"], image["height"], index))
    return root


def read_all(path: Path, **options) -> tuple[Dataset, list[Item]]:
    dataset = coco.read(str(path), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dataset, list(dataset)


def test_reads_the_od_api_values(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    dataset = coco.read(str(root))
    with pytest.warns(UserWarning) as caught:
        items = list(dataset)
    messages = [str(warning.message) for warning in caught]
    assert any(message.startswith("2 COCO annotation(s) skipped") for message in messages)
    assert any(message.startswith("1 COCO RLE") for message in messages)
    assert [(label.id, label.name) for label in dataset.label_map] == [(1, "person"), (3, "car"), (18, "dog")]
    assert [item.id for item in items] == ["000000000139", "000000000285", "000000000632"]
    assert [item.attributes["source_id"] for item in items] == ["139", "285", "632"]
    assert {item.subset for item in items} == {"train2017"}
    first = items[0]
    assert first.image.read() == (root / "train2017" / "000000000139.jpg").read_bytes()
    assert first.image.known_size == (30, 20)
    assert first.objects.boxes.tolist() == [[2.5, 3, 12.5, 11.25], [5, 0, 7, 20], [1, 1, 5, 5]]
    assert first.objects.label_ids.tolist() == [1, 18, 3]
    assert first.objects.attribute("is_crowd") == [False, True, False]
    assert first.objects.attribute("area") == [60.5, 40.0, 16.0]
    assert first.objects.attribute("occluded") == [None, None, True]
    assert first.objects.attribute("colour") == [None, None, "red"]
    assert first.objects.polygons[0][0].tolist() == [[2.5, 3], [12.5, 3], [12.5, 11.25], [2.5, 11.25]]
    assert not first.objects.has_masks
    assert [len(polygons) for polygons in items[1].objects.polygons] == [2]
    assert len(items[2].objects) == 0


def test_include_masks_gives_the_pycocotools_masks(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco", layout="datumaro")
    _, items = read_all(root, include_masks=True)
    document = coco_document()
    for item, image in zip(items[:2], document["images"][:2], strict=True):
        expected = [
            a
            for a in document["annotations"]
            if a["image_id"] == image["id"] and a["bbox"][2] > 0 and a["bbox"][0] + a["bbox"][2] <= image["width"]
        ]
        for annotation, mask in zip(expected, item.objects.masks, strict=True):
            if not annotation["segmentation"]:
                assert mask is None
                continue
            rles = coco_mask.frPyObjects(annotation["segmentation"], image["height"], image["width"])
            reference = coco_mask.decode(rles)
            if reference.ndim == 3:
                reference = reference.max(axis=2)  # what create_coco_tf_record.py does for polygons
            assert np.array_equal(mask.array, reference.astype(bool))
    assert items[0].objects.masks[1].array.sum() == 40


def test_compressed_rle_is_read(tmp_path: Path) -> None:
    document = coco_document()
    pixels = np.zeros((20, 30), dtype=np.uint8)
    pixels[4:9, 5:7] = 1
    compressed = coco_mask.encode(np.asfortranarray(pixels))
    document["annotations"][1]["segmentation"] = {"size": [20, 30], "counts": compressed["counts"].decode()}
    _, items = read_all(make_coco(tmp_path / "coco", document=document), include_masks=True)
    assert np.array_equal(items[0].objects.masks[1].array, pixels.astype(bool))


def test_label_map_remaps_by_name(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text("item { id: 1 name: 'dog' } item { id: 2 name: 'car' } item { id: 3 name: 'person' }")
    dataset, items = read_all(root, label_map=str(label_map))
    assert items[0].objects.label_ids.tolist() == [3, 1, 2]
    assert dataset.label_map.names == ["dog", "car", "person"]
    label_map.write_text("item { id: 1 name: 'dog' } item { id: 2 name: 'car' }")
    with pytest.raises(FormatError, match="'person'") as raised:
        read_all(root, label_map=str(label_map))
    assert raised.value.path.endswith("instances_train2017.json")


def test_subsets_from_several_files_and_one_file(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco", "train", layout="datumaro")
    small = coco_document()
    small["images"] = small["images"][2:]
    make_coco(root, "val", layout="datumaro", document=small)
    dataset, items = read_all(root)
    assert dataset.length is None  # the number of images is known only once a pass has read them
    assert [(item.subset, item.id) for item in items][-2:] == [("train", "000000000632"), ("val", "000000000632")]
    assert items[-1].image.path.endswith(os.path.join("images", "val", "000000000632.jpg"))
    assert [item.subset for item in read_all(root, subset="val")[1]] == ["val"]
    with pytest.raises(FormatError, match="instances_test.json"):
        coco.read(str(root), subset="test")
    single = read_all(root / "annotations" / "instances_val.json")[1]
    assert single[0].subset == "val" and single[0].image.has_bytes
    # Reading twice gives the same items (the kept parse is used once, then the file is parsed again).
    dataset = coco.read(str(root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [i.id for i in dataset] == [i.id for i in dataset]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"annotations": []}', "no 'images' list"),
        (
            '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories": [],'
            '"annotations": [{"id": 9, "image_id": 1, "category_id": 1}]}',
            "annotation 9 has no valid bbox",
        ),
        (
            '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories": [],'
            '"annotations": [{"id": 9, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1]}]}',
            "category id 5",
        ),
        ('{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": []}', "without id, file_name, width"),
        ('{"images": [], "annotations": [], "categories": [], "x": NaN}', "not valid JSON"),
    ],
)
def test_bad_json_is_a_format_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_x.json").write_text(text)
    with pytest.raises(FormatError, match=message) as raised:
        read_all(tmp_path)
    assert raised.value.path.endswith("instances_x.json")


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ('"bbox": [1e400, 0, 1, 1]', "bbox has a non-finite number"),
        ('"bbox": [0, 0, 1, 1], "area": -1e999', "area is not a finite number"),
        ('"bbox": [0, 0, 1, 1], "segmentation": [[0, 0, 1, 0, 1, 1e500]]', "polygon has a non-finite number"),
        ('"bbox": [0, 0, 1, 1], "segmentation": [[0, 0, 1, 0, 1]]', "odd number of values"),
    ],
)
def test_non_finite_and_malformed_numbers(tmp_path: Path, annotation: str, message: str) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_x.json").write_text(
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories": [{"id": 1, "name": "a"}],'
        f'"annotations": [{{"id": 9, "image_id": 1, "category_id": 1, {annotation}}}]}}'
    )
    # ijson refuses 1e400 while parsing (overflow); the other cases are refused where the value is used.
    with pytest.raises(FormatError, match=rf"{re.escape(message)}|floating point\) overflow") as raised:
        read_all(tmp_path)
    assert raised.value.path.endswith("instances_x.json")


def test_coco_round_trip_keeps_ids_boxes_polygons_and_crowd_masks(tmp_path: Path) -> None:
    source, originals = read_all(make_coco(tmp_path / "coco"), include_masks=True)
    coco.write(source, str(tmp_path / "out"))
    out = tmp_path / "out"
    document = json.loads((out / "annotations" / "instances_train2017.json").read_text())
    assert [image["id"] for image in document["images"]] == [139, 285, 632]
    assert document["categories"] == [{"id": c["id"], "name": c["name"], "supercategory": ""} for c in CATEGORIES]
    api = COCO(str(out / "annotations" / "instances_train2017.json"))  # pycocotools reads it
    assert api.annToMask(api.loadAnns(api.getAnnIds(imgIds=[139]))[1]).sum() == 40
    back_dataset, back = read_all(out, include_masks=True)
    assert back_dataset.label_map == source.label_map
    for original, copied in zip(originals, back, strict=True):
        assert (copied.id, copied.subset, copied.attributes["source_id"]) == (
            original.id,
            original.subset,
            original.attributes["source_id"],
        )
        assert copied.image.read() == original.image.read()
        assert copied.objects.boxes.tolist() == original.objects.boxes.tolist()
        assert copied.objects.label_ids.tolist() == original.objects.label_ids.tolist()
        for name in ("is_crowd", "area", "occluded", "colour"):
            assert copied.objects.attribute(name) == original.objects.attribute(name)
        for a, b in zip(original.objects.polygons, copied.objects.polygons, strict=True):
            assert [p.tolist() for p in a] == [p.tolist() for p in b]
        for a, b in zip(original.objects.masks, copied.objects.masks, strict=True):
            assert (a is None) == (b is None) and (a is None or a == b)


def test_masks_without_polygons_are_written_as_traced_polygons(tmp_path: Path) -> None:
    pixels = np.zeros((10, 12), dtype=bool)
    pixels[2:6, 3:9] = True
    pixels[6:8, 3:5] = True
    objects = Objects(boxes=[[3, 2, 9, 8]], label_ids=[1], masks=[Mask.from_array(pixels)])
    items = [Item("m", ImageRef("m.png", width=12, height=10), objects, attributes={"source_id": "img-7"})]
    coco.write(Dataset(items, LabelMap.from_names(["blob"])), str(tmp_path / "out"), save_images=False)
    document = json.loads((tmp_path / "out" / "annotations" / "instances_default.json").read_text())
    annotation = document["annotations"][0]
    assert document["images"][0]["id"] == 1  # "img-7" is not a number: numbered
    assert annotation["iscrowd"] == 0 and annotation["area"] == pixels.sum()
    assert annotation["bbox"] == [3, 2, 6, 6]
    rles = coco_mask.frPyObjects(annotation["segmentation"], 10, 12)
    assert np.array_equal(coco_mask.decode(rles).max(axis=2).astype(bool), pixels)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [4]))]
    with pytest.raises(FormatError, match="label id 4"):
        coco.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "out"), save_images=False)
    assert os.listdir(tmp_path) == []


def test_detect(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    assert coco.detect(str(root)) and coco.detect(str(root / "annotations" / "instances_train2017.json"))
    other = tmp_path / "other.json"
    other.write_text('{"images": [], "annotations": [], "categories": []}')
    assert coco.detect(str(other))
    (tmp_path / "x.json").write_text('{"a": 1}')
    assert not coco.detect(str(tmp_path / "x.json")) and not coco.detect(str(tmp_path / "coco" / "train2017"))


def test_clean_number() -> None:
    assert coco.clean_number(np.float32(0.096) * 500) == 48.0
    assert coco.clean_number(473.07 + 20.05 - 473.07) == 20.05


def test_tfrecord_round_trip_keeps_boxes_labels_and_crowd(tmp_path: Path) -> None:
    from tfodkit.formats import tfod

    source, originals = read_all(make_coco(tmp_path / "coco"))
    tfod.write(source, str(tmp_path / "records"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco.write(tfod.read(str(tmp_path / "records")), str(tmp_path / "back"))
    _, back = read_all(tmp_path / "back")
    assert len(back) == len(originals)
    for original, copied in zip(originals, back, strict=True):
        assert copied.attributes["source_id"] == original.attributes["source_id"]
        assert copied.subset == original.subset
        assert copied.image.read() == original.image.read()
        assert np.allclose(copied.objects.boxes, original.objects.boxes, atol=1e-3)
        assert copied.objects.label_ids.tolist() == original.objects.label_ids.tolist()
        assert copied.objects.attribute("is_crowd") == original.objects.attribute("is_crowd")
        assert copied.objects.attribute("area") == original.objects.attribute("area")


def test_nan_area_and_attributes_from_records_are_left_out(tmp_path: Path) -> None:
    # The TFRecord schema stores a missing area as NaN; JSON cannot hold NaN.
    objects = Objects.from_boxes(
        [[1, 2, 5, 6], [0, 0, 2, 2]], [1, 1], area=np.array([np.nan, 3.0], dtype=np.float32), score=[float("nan"), 0.5]
    )
    items = [Item("a", ImageRef("a.jpg", width=8, height=8), objects)]
    coco.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "out"), save_images=False)
    annotations = json.loads((tmp_path / "out" / "annotations" / "instances_default.json").read_text())["annotations"]
    assert [a["area"] for a in annotations] == [16.0, 3.0]
    assert ["attributes" in a for a in annotations] == [False, True]


def test_a_box_outside_the_image_names_its_annotation_and_clips_in_place(tmp_path: Path) -> None:
    # The boxes of an image are checked together: the error still names the bad annotation (not a neighbour, nor
    # the skipped degenerate one before it), and --clip clips only that box, counting one.
    from tfodkit.boxes import clipping_boxes
    from tfodkit.losses import counting_losses

    document = coco_document()
    outside = {"id": 77, "image_id": 139, "category_id": 1, "bbox": [25, 0, 10, 5], "iscrowd": 0, "area": 50.0}
    degenerate = {"id": 78, "image_id": 139, "category_id": 1, "bbox": [1, 1, 0, 4], "iscrowd": 0, "area": 0.0}
    document["annotations"] += [degenerate, outside]
    root = make_coco(tmp_path / "coco", document=document)
    with pytest.raises(FormatError, match=r"annotation 77: box .* reaches outside the 30x20 image"):
        read_all(root)
    with clipping_boxes(True), counting_losses() as losses:
        _, items = read_all(root)
    boxes = items[0].objects.boxes.tolist()
    assert boxes[0] == [2.5, 3.0, 12.5, 11.25]  # its neighbours as written
    assert boxes[-1] == [25.0, 0.0, 30.0, 5.0]
    assert losses.counts["box_clipped"] == 1
