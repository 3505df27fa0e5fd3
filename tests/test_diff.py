"""`tfod diff`: conversions that lose nothing diff clean; every kind of seeded change is found and counted."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.formats import cvat_zip, tfod, voc
from tfodkit.inspection.diff import diff, diff_datasets, iou_matrix, match_objects
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.pipeline import convert
from tfodkit.samples import make_cvat_dataset, make_jpeg
from tfodkit.transforms import polygons_to_masks


def test_a_lossless_conversion_diffs_clean(tmp_path: Path) -> None:
    annotations = make_cvat_dataset(tmp_path / "cvat", images=5)
    archive = tmp_path / "task.zip"
    result = convert(
        str(annotations), str(archive), from_format="cvat", to_format="cvat", write_options={"save_images": True}
    )
    assert not result.losses
    report = diff(str(annotations), str(archive))
    assert report.identical, report.as_dict()
    assert report.matched_items == 5 and report.items_a == report.items_b == 5
    assert report.unchanged_objects == report.objects_a == report.objects_b > 0


def test_the_diff_of_a_lossy_export_shows_what_the_losses_counted(tmp_path: Path) -> None:
    annotations = make_cvat_dataset(tmp_path / "cvat", images=5)
    archive = tmp_path / "task.zip"
    result = convert(
        str(annotations),
        str(archive),
        from_format="cvat",
        to_format="cvat-tfrecord",
        write_options={"save_images": True},
    )
    polygons = result.losses["polygon_not_exported"]
    assert polygons > 0
    report = diff(str(annotations), str(archive))
    assert report.counts == {"removed": polygons}
    # with masks asked for, the polygons stay as masked objects: the diff shows the shapes changed kind
    masked = tmp_path / "masked.zip"
    result = convert(
        str(annotations),
        str(masked),
        from_format="cvat",
        to_format="cvat-tfrecord",
        write_options={"save_images": True},
        transforms=[polygons_to_masks],
    )
    assert result.losses["polygon_as_mask"] == polygons
    assert set(result.losses) == {"polygon_as_mask", "attribute_dropped"}  # occluded, z_order, CVAT attributes
    report = diff(str(annotations), str(masked))
    assert report.counts == {"polygons_changed": polygons, "masks_changed": polygons}


def test_masks_and_polygons_are_compared_by_pixels(tmp_path: Path) -> None:
    square = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], dtype=np.float64)
    shifted = square + [0, 8]

    def item(polygon: np.ndarray, mask_polygon: np.ndarray) -> Item:
        objects = Objects(
            boxes=[[10, 10, 50, 50]],
            label_ids=[1],
            polygons=[[polygon]],
            masks=[Mask.from_polygons([mask_polygon], 80, 100)],
        )
        return Item("x", ImageRef("x.jpg", width=100, height=80), objects)

    same = diff_datasets(Dataset([item(square, square)], LABELS), Dataset([item(square + 0.001, square)], LABELS))
    assert same.identical
    report = diff_datasets(Dataset([item(square, square)], LABELS), Dataset([item(shifted, shifted)], LABELS))
    assert report.counts == {"polygons_changed": 1, "masks_changed": 1}
    details = [change.detail for change in report.changed_items[0].changes]
    assert any(detail.startswith("polygon pixels differ (IoU 0.") for detail in details)
    assert any(detail.startswith("mask pixels differ (IoU 0.") for detail in details)


def test_images_not_embedded_count_as_lost_unless_ignored(tmp_path: Path) -> None:
    annotations = make_cvat_dataset(tmp_path / "cvat", images=3)
    archive = tmp_path / "task.zip"
    # CVAT's default for images beside the XML: not embedded, and said
    result = convert(str(annotations), str(archive), from_format="cvat", to_format="cvat")
    assert result.losses["image_not_embedded"] == 3
    report = diff(str(annotations), str(archive))
    assert report.counts == {"image_missing_in_b": 3}
    assert diff(str(annotations), str(archive), compare_images=False).identical


LABELS = LabelMap.from_names(["car", "person", "bike"])


def _item(
    folder: Path, name: str, boxes: list[list[float]], labels: list[int], seed: int = 0, **attributes: list
) -> Item:
    path = folder / f"{name}.jpg"
    if not path.exists():
        path.write_bytes(make_jpeg(100, 80, seed))
    return Item(
        name,
        ImageRef(path.name, path=str(path), width=100, height=80),
        Objects.from_boxes(boxes, labels, **attributes),
        subset="train",
    )


def test_every_kind_of_change_is_found(tmp_path: Path) -> None:
    a_folder, b_folder = tmp_path / "a_images", tmp_path / "b_images"
    a_folder.mkdir()
    b_folder.mkdir()
    a_items = [
        _item(a_folder, "same", [[10, 10, 50, 50]], [1], difficult=[0]),
        _item(a_folder, "moved", [[10, 10, 50, 50], [60, 10, 90, 40]], [1, 2], difficult=[0, 0]),
        _item(a_folder, "relabelled", [[10, 10, 50, 50]], [1], difficult=[0]),
        _item(a_folder, "removed", [[10, 10, 50, 50], [60, 10, 90, 40]], [1, 2], difficult=[0, 0]),
        _item(a_folder, "added", [[10, 10, 50, 50]], [1], difficult=[0]),
        _item(a_folder, "flag", [[10, 10, 50, 50]], [3], difficult=[0]),
        _item(a_folder, "pixels", [[10, 10, 50, 50]], [1], seed=1, difficult=[0]),
        _item(a_folder, "gone", [[10, 10, 50, 50]], [1], difficult=[0]),
    ]
    b_items = [
        _item(b_folder, "same", [[10, 10, 50, 50]], [1], difficult=[0]),
        _item(b_folder, "moved", [[60, 10, 90, 40], [12, 10, 52, 50]], [2, 1], difficult=[0, 0]),  # order changed too
        _item(b_folder, "relabelled", [[10, 10, 50, 50]], [2], difficult=[0]),
        _item(b_folder, "removed", [[60, 10, 90, 40]], [2], difficult=[0]),
        _item(b_folder, "added", [[10, 10, 50, 50], [70, 50, 95, 75]], [1, 3], difficult=[0, 0]),
        _item(b_folder, "flag", [[10, 10, 50, 50]], [3], difficult=[1]),
        _item(b_folder, "pixels", [[10, 10, 50, 50]], [1], seed=2, difficult=[0]),
        _item(b_folder, "new", [[10, 10, 50, 50]], [1], difficult=[0]),
    ]
    tfod.write(Dataset(a_items, LABELS), str(tmp_path / "a.tfrecord"), save_images=True)
    voc.write(Dataset(b_items, LABELS), str(tmp_path / "b_voc"), save_images=True)
    report = diff(str(tmp_path / "a.tfrecord"), str(tmp_path / "b_voc"), format_b="voc")
    assert dict(report.counts) == {
        "moved": 1,
        "relabelled": 1,
        "removed": 1,
        "added": 1,
        "attributes_changed": 1,
        "image_bytes_changed": 1,
        "only_in_a": 1,
        "only_in_b": 1,
    }
    assert report.only_in_a == ["gone"] and report.only_in_b == ["new"]
    changes = {(item.id, change.kind) for item in report.changed_items for change in item.changes}
    changes |= {(item.id, kind) for item in report.changed_items for kind in item.image_changes}
    assert changes == {
        ("moved", "moved"),
        ("relabelled", "relabelled"),
        ("removed", "removed"),
        ("added", "added"),
        ("flag", "attributes_changed"),
        ("pixels", "image_bytes_changed"),
    }
    moved = next(change for item in report.changed_items for change in item.changes if change.kind == "moved")
    assert moved.index_a == 0 and moved.index_b == 1 and moved.iou == pytest.approx(38 * 40 / (42 * 40))
    assert not report.identical
    # VOC boxes are whole pixels and TFRecord boxes are float32 fractions: no spurious "moved" for the others
    assert report.unchanged_objects == 5  # same, moved (the other one), removed, added, pixels: one each


def test_iou_threshold_decides_what_is_the_same_object(tmp_path: Path) -> None:
    a = Dataset(
        [Item("x", ImageRef("x.jpg", width=100, height=100), Objects.from_boxes([[0, 0, 10, 10]], [1]))], LABELS
    )
    b = Dataset(
        [Item("x", ImageRef("x.jpg", width=100, height=100), Objects.from_boxes([[5, 0, 15, 10]], [1]))], LABELS
    )
    loose = diff_datasets(a, b, iou_threshold=0.3)  # IoU 1/3: the same object, moved
    strict = diff_datasets(a, b, iou_threshold=0.5)  # a different object: one removed, one added
    assert dict(loose.counts) == {"moved": 1}
    assert dict(strict.counts) == {"removed": 1, "added": 1}


def test_greedy_matching_takes_the_best_pairs_first() -> None:
    boxes_a = np.array([[0, 0, 10, 10], [0, 0, 12, 10]])
    boxes_b = np.array([[0, 0, 12, 10], [0, 0, 10, 10]])
    same, cross, only_a, only_b = match_objects(boxes_a, ["car", "car"], boxes_b, ["car", "car"])
    assert same == [(0, 1, 1.0), (1, 0, 1.0)] and cross == [] and only_a == only_b == []
    assert iou_matrix(np.zeros((0, 4)), boxes_b).shape == (0, 2)
    assert match_objects(np.zeros((0, 4)), [], boxes_b, ["a", "b"]) == ([], [], [], [0, 1])


def test_cli_exit_codes_and_json(tmp_path: Path, dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
    cvat_zip.write(dataset, str(tmp_path / "a.zip"), save_images=True)
    tfod.write(dataset, str(tmp_path / "b"), save_images=True)
    assert run("diff", str(tmp_path / "a.zip"), str(tmp_path / "b")) == 0
    assert "identical" in capsys.readouterr().out

    items = [copy.deepcopy(item) for item in dataset]
    items[0].objects.boxes[0] += 3
    tfod.write(Dataset(items, dataset.label_map), str(tmp_path / "c"), save_images=True)
    assert run("diff", str(tmp_path / "a.zip"), str(tmp_path / "c"), "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["moved"] == 1 and not document["identical"]
    assert document["changed_items"][0]["objects"][0]["kind"] == "moved"
    assert run("diff", str(tmp_path / "a.zip"), str(tmp_path / "c")) == 1
    assert "the datasets differ" in capsys.readouterr().out
    assert run("diff", str(tmp_path / "a.zip"), str(tmp_path / "nothing")) == 2
