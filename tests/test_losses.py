"""Every loss counted and said: writers' tallies per kind, --json ``losses``, --strict (exit 2, nothing written),
what can be kept kept (COCO edge boxes, embedded images, crowd RLE masks), CVAT-exact polygons."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.errors import LossError
from tfodkit.formats import coco, cvat_xml, cvat_zip, tfod
from tfodkit.inspection.diff import diff, diff_datasets
from tfodkit.losses import Tally, count_dropped_attributes, counting_losses, has_value, tallied
from tfodkit.masks import raster
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.pipeline import convert, read_dataset, write_dataset
from tfodkit.samples import make_jpeg

LABELS = LabelMap.from_names(["car", "person"])
SQUARE = np.array([[4, 4], [20, 4], [20, 20], [4, 20]], dtype=np.float64)


def edge_items(count: int = 6, *, width: int = 160, height: int = 120) -> list[Item]:
    """Items with embedded JPEGs and boxes whose right/bottom edge is the image edge, at float32-unfriendly x."""
    items = []
    for index in range(count):
        x = float(np.float32(0.6993 + index * 7.13))
        boxes = [[x, 1.37 * index, width, height], [3.3, 2.2, 40.7 + index, 30.1]]
        objects = Objects.from_boxes(boxes, [1, 2], occluded=[bool(index % 2), False])
        jpeg = make_jpeg(width, height, index)
        items.append(
            Item(
                f"img_{index}",
                ImageRef(f"img_{index}.jpg", data=jpeg, width=width, height=height),
                objects,
                subset="train",
            )
        )
    return items


def shape_items() -> list[Item]:
    """One item: a polygon object, a mask object and a box object, image embedded."""
    mask = np.zeros((40, 60), dtype=bool)
    mask[10:30, 30:50] = True
    objects = Objects(
        boxes=[[4, 4, 20, 20], [30, 10, 50, 30], [1, 1, 9, 9]],
        label_ids=[1, 2, 1],
        polygons=[[SQUARE], [], []],
        masks=[None, Mask.from_array(mask), None],
    )
    return [Item("a", ImageRef("a.jpg", data=make_jpeg(60, 40, 1), width=60, height=40), objects)]


def write_records(folder: Path, items: list[Item], name: str = "in.tfrecord") -> Path:
    target = folder / name
    tfod.write(Dataset(items, LABELS), str(target))
    return target


# ------------------------------------------------------------------------------------------- helpers
def test_tally_reports_each_kind_once_with_its_total_and_names() -> None:
    tally = Tally()
    count_dropped_attributes(
        tally,
        {"occluded": [True, False, True], "z_order": [0, 2, 0], "difficult": [1, 1, 1]},
        {"difficult"},
        "tfrecord",
    )
    with counting_losses() as losses:
        tally.report()
    assert dict(losses.counts) == {"attribute_dropped": 3}
    assert losses.lines() == [
        "3 object attribute values not written (tfrecord has no place for them): occluded, z_order"
    ]
    assert not tally.counts  # started over


def test_tallied_reports_after_the_last_item_so_strict_raises_inside_the_writer_loop() -> None:
    seen: list[int] = []
    with counting_losses(strict=True), pytest.raises(LossError) as raised:
        seen.extend(tallied([1, 2], lambda item, tally: tally.add("odd", "odd numbers", item % 2)))
    assert seen == [1, 2] and raised.value.kind == "odd"


def test_has_value_treats_defaults_as_nothing_said() -> None:
    assert not any(has_value(value) for value in (None, False, 0, 0.0, "", "Unspecified", float("nan")))
    assert all(has_value(value) for value in (True, 1, 2.5, "Left", "red"))


# ----------------------------------------------------------------------------- losses per writer
@pytest.mark.parametrize(
    ("to_format", "target", "expected"),
    [
        ("tfrecord", "out.tfrecord", {"polygon_as_box": 1}),
        ("cvat-tfrecord", "out.zip", {"polygon_not_exported": 1}),
        ("cvat", "out.zip", {"mask_as_box": 1}),
        ("voc", "voc", {"polygon_as_box": 1, "mask_as_box": 1}),
        ("coco", "coco", {"mask_as_polygon": 1}),
        ("yolo", "yolo", {"polygon_as_box": 1, "mask_as_box": 1}),
    ],
)
def test_each_writer_counts_the_shapes_it_cannot_hold(
    tmp_path: Path, to_format: str, target: str, expected: dict[str, int]
) -> None:
    with counting_losses() as losses:
        write_dataset(Dataset(shape_items(), LABELS), str(tmp_path / target), to_format)
    assert dict(losses.counts) == expected


def test_attributes_a_writer_cannot_hold_are_counted_by_name(tmp_path: Path) -> None:
    source = write_records(tmp_path, edge_items(4))  # occluded is not a record column: dropped here already
    assert "occluded" not in next(iter(tfod.read(str(source)))).objects.attributes
    items = edge_items(4)
    items[0].objects.attributes["colour"] = ["red", None]
    with counting_losses() as losses:
        tfod.write(Dataset(items, LABELS), str(tmp_path / "out.tfrecord"))
    assert dict(losses.counts) == {"attribute_dropped": 3}  # 2 occluded True + 1 colour
    assert losses.lines()[0].endswith(": colour, occluded")  # in the order met


def test_yolo_counts_crowd_regions_and_attributes(tmp_path: Path) -> None:
    items = edge_items(2)
    items[0].objects.attributes["is_crowd"] = [True, False]
    items[0].objects.attributes["difficult"] = [False, True]
    with counting_losses() as losses:
        from tfodkit.formats import yolo

        yolo.write(Dataset(items, LABELS), str(tmp_path / "yolo"))
    assert losses.counts["crowd_not_written"] == 1
    assert losses.counts["attribute_dropped"] == 2  # difficult of object 1, occluded of item 1 (not is_crowd)


# ------------------------------------------------------------------------------------ CLI and strict
def test_cli_json_lists_losses_and_the_summary_says_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cvat_source = tmp_path / "task"
    cvat_xml.write(Dataset(shape_items(), LABELS), str(cvat_source), save_images=True)
    assert run("convert", str(cvat_source), str(tmp_path / "voc"), "--from", "cvat", "--to", "voc", "--json") == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["losses"] == {"polygon_as_box": 1}
    assert "tfod: lost: 1 polygons written as boxes only (voc holds no polygons)" in captured.err


@pytest.mark.parametrize(
    "arguments",
    [
        ["--to", "cvat-tfrecord", "out.zip"],  # polygon_not_exported
        ["--to", "voc", "voc"],  # polygon_as_box
        ["--to", "cvat", "out.zip", "--no-save-images"],  # image_not_embedded
        ["--to", "tfrecord", "out.tfrecord"],  # polygon_as_box
    ],
)
def test_strict_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    source = tmp_path / "in"
    items = shape_items()
    items[0].objects.masks[1] = None  # a polygon and boxes only: every writer but cvat/coco loses the polygon
    cvat_xml.write(Dataset(items, LABELS), str(source), save_images=True)
    to, fmt, target, *rest = arguments
    code = run("convert", str(source), str(tmp_path / target), "--from", "cvat", to, fmt, *rest, "--strict")
    assert code == 2
    assert "--strict: 1 " in capsys.readouterr().err
    assert not (tmp_path / target).exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in"]


# ------------------------------------------------------------------------------ keep what can be kept
def test_edge_boxes_survive_records_to_coco_and_back(tmp_path: Path) -> None:
    archive = tmp_path / "task.zip"
    cvat_zip.write(Dataset(edge_items(), LABELS), str(archive), save_images=True)
    report = convert(str(archive), str(tmp_path / "coco"), from_format="cvat-tfrecord", to_format="coco")
    assert report.losses == {}
    data = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    for annotation in data["annotations"]:
        x, y, w, h = annotation["bbox"]
        assert x + w <= 160 and y + h <= 120
    back = tmp_path / "back.zip"
    report = convert(
        str(tmp_path / "coco"),
        str(back),
        from_format="coco",
        to_format="cvat-tfrecord",
        write_options={"save_images": True},
    )
    assert report.losses == {} and report.objects == 12
    assert diff(str(archive), str(back)).identical


def test_cli_edge_round_trip_diffs_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "task.zip"
    cvat_zip.write(Dataset(edge_items(), LABELS), str(archive), save_images=True)
    assert run("import", str(archive), str(tmp_path / "coco"), "--to", "coco", "--json") == 0
    assert json.loads(capsys.readouterr().out)["losses"] == {}
    assert (
        run(
            "convert",
            str(tmp_path / "coco"),
            str(tmp_path / "back.zip"),
            "--from",
            "coco",
            "--to",
            "cvat-tfrecord",
            "--save-images",
            "-q",
        )
        == 0
    )
    assert run("diff", str(archive), str(tmp_path / "back.zip")) == 0


def test_transform_of_a_zip_with_images_keeps_them_embedded(tmp_path: Path) -> None:
    archive = tmp_path / "task.zip"
    items = shape_items()
    cvat_zip.write(Dataset(items, LABELS), str(archive), save_images=True)
    masked = tmp_path / "masked.zip"
    assert run("transform", str(archive), str(masked), "-t", "polygons_to_masks", "-t", "boxes_to_masks", "-q") == 0
    back = list(read_dataset(str(masked), "cvat-tfrecord"))
    assert back[0].image.data == items[0].image.data
    assert masked.stat().st_size > len(items[0].image.data)


def test_images_beside_cvat_xml_are_not_embedded_by_default_and_that_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cvat"
    cvat_xml.write(Dataset(edge_items(3), LABELS), str(folder), save_images=True)
    assert run("export", str(folder), str(tmp_path / "task.zip"), "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["losses"]["image_not_embedded"] == 3
    assert "tfod: lost: 3 images not embedded or copied (--save-images keeps them)" in captured.err
    first = next(iter(read_dataset(str(tmp_path / "task.zip"), "cvat-tfrecord")))
    assert first.image.data is None


def _coco_with_crowd(folder: Path) -> Path:
    mask = np.zeros((40, 60), dtype=bool)
    mask[5:25, 10:18] = True
    mask[30:35, 40:55] = True  # two blobs: a box mask would be far from it
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(make_jpeg(60, 40, 3))
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 60, "height": 40}],
        "categories": [{"id": 1, "name": "people"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 5, 45, 30],
                "area": 235,
                "iscrowd": 1,
                "segmentation": raster.array_to_rle(mask),
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "bbox": [1, 1, 5, 5],
                "area": 25,
                "iscrowd": 0,
                "segmentation": [],
            },
        ],
    }
    path = folder / "annotations" / "instances_default.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return folder


def test_masks_all_keeps_the_crowd_rle_and_makes_box_masks_only_for_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _coco_with_crowd(tmp_path / "coco")
    out = tmp_path / "out.tfrecord"
    assert run("convert", str(source), str(out), "--from", "coco", "--to", "tfrecord", "--masks", "all", "-q") == 0
    item = next(iter(tfod.read(str(out))))
    expected = raster.rle_to_array(
        json.loads((source / "annotations" / "instances_default.json").read_text())["annotations"][0]["segmentation"]
    )
    np.testing.assert_array_equal(item.objects.masks[0].array, expected)
    assert item.objects.masks[1].array.sum() == 25  # the box mask of the object without segmentation
    # without masks the RLE is counted as not kept, and the message names CLI flags
    assert run("convert", str(source), str(tmp_path / "plain.tfrecord"), "--from", "coco", "--to", "tfrecord") == 0
    err = capsys.readouterr().err
    assert "1 COCO RLE segmentation(s) (crowd regions) not kept as masks; --masks polygons or --include-masks" in err
    assert "include_masks=True" not in err


def test_coco_reader_attaches_rle_masks_lazily(tmp_path: Path) -> None:
    source = _coco_with_crowd(tmp_path / "coco")
    item = next(iter(coco.read(str(source), include_masks=True)))
    assert item.objects.masks[0] is not None and not item.objects.masks[0].is_rasterized


# ----------------------------------------------------------------------------------- CVAT-exact export
def test_export_leaves_polygons_out_unless_masks_are_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = shape_items()
    items[0].objects.masks[1] = None
    source = tmp_path / "cvat.zip"
    cvat_xml.write(Dataset(items, LABELS), str(source), save_images=True)
    assert run("export", str(source), str(tmp_path / "task.zip"), "--from", "cvat", "--save-images", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["losses"] == {"polygon_not_exported": 1}
    assert "tfod: lost: 1 polygons not exported; --masks polygons exports them as instance masks" in captured.err
    exported = next(iter(read_dataset(str(tmp_path / "task.zip"), "cvat-tfrecord")))
    assert len(exported.objects) == 2 and not exported.objects.has_masks
    assert run("diff", str(source), str(tmp_path / "task.zip")) != 0  # the diff shows the object removed

    assert (
        run(
            "export",
            str(source),
            str(tmp_path / "masked.zip"),
            "--from",
            "cvat",
            "--masks",
            "polygons",
            "--save-images",
            "-q",
        )
        == 0
    )
    masked = next(iter(read_dataset(str(tmp_path / "masked.zip"), "cvat-tfrecord")))
    assert len(masked.objects) == 3 and masked.objects.masks[0] is not None
    with zipfile.ZipFile(tmp_path / "masked.zip") as archive:
        assert sorted(archive.namelist()) == ["default.tfrecord", "label_map.pbtxt"]


def test_diff_of_records_and_polygon_source_counts_shape_changes() -> None:
    polygon_side = Dataset(shape_items(), LABELS)
    items = shape_items()
    items[0].objects.polygons[0] = []
    box_side = Dataset(items, LABELS)
    assert dict(diff_datasets(polygon_side, box_side, compare_images=False).counts) == {"polygons_changed": 1}


def test_subsets_in_one_record_file_are_a_loss(tmp_path: Path) -> None:
    from conftest import make_items

    images = tmp_path / "images"
    images.mkdir()
    source = tmp_path / "in"
    tfod.write(Dataset(make_items(images), LabelMap.from_names(["a", "b", "c"])), str(source))  # train/ + val/
    report = convert(str(source), str(tmp_path / "one.tfrecord"), to_format="tfrecord")
    assert report.losses["subsets_merged"] == 2
    assert convert(str(source), str(tmp_path / "folder"), to_format="tfrecord").losses.get("subsets_merged") is None


@pytest.mark.parametrize("to_format", ["yolo", "voc"])
def test_label_ids_with_gaps_renumbered_by_yolo_are_a_loss(tmp_path: Path, to_format: str) -> None:
    from tfodkit.model import Label

    items = [
        Item(
            name,
            ImageRef(f"{name}.jpg", data=make_jpeg(16, 12, seed), width=16, height=12),
            Objects.from_boxes([[1, 1, 5, 5]], [label_id]),
        )
        for seed, (name, label_id) in enumerate([("a", 1), ("b", 3), ("c", 7)])
    ]
    labels = LabelMap([Label(1, "car"), Label(3, "bus"), Label(7, "bike")])
    tfod.write(Dataset(items, labels), str(tmp_path / "in.tfrecord"))
    report = convert(str(tmp_path / "in.tfrecord"), str(tmp_path / "out"), to_format=to_format)
    expected = {"yolo": 2, "voc": None}[to_format]  # bus and bike move to 2 and 3; VOC keeps names only, no ids
    assert report.losses.get("label_ids_renumbered") == expected
