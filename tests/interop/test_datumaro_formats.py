"""VOC, COCO and YOLO against the real Datumaro 1.13 (the engine behind CVAT's import/export).

Both ways: Datumaro's own exports of a dataset built here read with tfodkit's readers to the same items,
boxes, labels (and VOC flags); and Datumaro imports tfodkit's exports with the same annotations.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tfodkit.formats import coco, voc, yolo
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg

pytestmark = pytest.mark.interop

pytest.importorskip("datumaro")

from datumaro.components.annotation import AnnotationType, Bbox, Polygon  # noqa: E402
from datumaro.components.dataset import Dataset as DatumaroDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image as DatumaroImage  # noqa: E402

LABELS = ["car", "person", "dog"]
POSES = ["Unspecified", "Left", "Right", "Frontal"]


# ---------------------------------------------------------------------------------------------- the data
def _rows(seed: int = 3):
    """(id, subset, width, height, [(label index, x1, y1, x2, y2, difficult, truncated, occluded, pose)])."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(6):
        width, height = 64 + 8 * index, 48 + 4 * index
        objects = []
        for _ in range(0 if index == 5 else int(rng.integers(1, 4))):
            x1, y1 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
            x2, y2 = x1 + int(rng.integers(4, width // 2)), y1 + int(rng.integers(4, height // 2))
            objects.append(
                (
                    int(rng.integers(0, 3)),
                    x1,
                    y1,
                    x2,
                    y2,
                    bool(rng.integers(0, 2)),
                    bool(rng.integers(0, 2)),
                    bool(rng.integers(0, 2)),
                    POSES[int(rng.integers(0, 4))],
                )
            )
        rows.append((f"img{index}", "train" if index % 2 == 0 else "val", width, height, objects))
    return rows


def datumaro_dataset(folder: Path, *, subsets=("train", "val"), with_polygon: bool = False) -> DatumaroDataset:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index, (item_id, subset, width, height, objects) in enumerate(_rows()):
        path = folder / f"{item_id}.jpg"
        path.write_bytes(make_jpeg(width, height, index))
        annotations = [
            Bbox(
                x1,
                y1,
                x2 - x1,
                y2 - y1,
                label=label,
                id=k + 1,
                attributes={"difficult": difficult, "truncated": truncated, "occluded": occluded, "pose": pose},
            )
            for k, (label, x1, y1, x2, y2, difficult, truncated, occluded, pose) in enumerate(objects)
        ]
        if with_polygon and objects:
            annotations.append(Polygon([2.0, 3.0, 20.5, 3.0, 11.0, 17.25], label=1, id=100))
        subset_name = subsets[0] if subset == "train" else subsets[1]
        items.append(
            DatasetItem(
                id=item_id, subset=subset_name, media=DatumaroImage.from_file(path=str(path)), annotations=annotations
            )
        )
    return DatumaroDataset.from_iterable(items, categories=LABELS)


def tfodkit_dataset(folder: Path, *, subsets=("train", "val")) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index, (item_id, subset, width, height, objects) in enumerate(_rows()):
        path = folder / f"{item_id}.jpg"
        path.write_bytes(make_jpeg(width, height, index))
        rows = list(zip(*objects, strict=True)) if objects else [[]] * 9
        item_objects = Objects.from_boxes(
            np.array([row[1:5] for row in objects], dtype=np.float64).reshape(-1, 4),
            [row[0] + 1 for row in objects],
            difficult=list(rows[5]),
            truncated=list(rows[6]),
            occluded=list(rows[7]),
            pose=list(rows[8]),
        )
        subset_name = subsets[0] if subset == "train" else subsets[1]
        items.append(
            Item(
                item_id,
                ImageRef(path.name, path=str(path), width=width, height=height),
                item_objects,
                subset=subset_name,
            )
        )
    return Dataset(items, LabelMap.from_names(LABELS))


# ---------------------------------------------------------------------------------------------- comparisons
def datumaro_boxes(dataset: DatumaroDataset) -> dict[tuple[str, str], list[tuple]]:
    """(subset, id) -> [(label name, x1, y1, x2, y2, attributes)] of Datumaro's boxes."""
    names = [label.name for label in dataset.categories()[AnnotationType.label]]
    result = {}
    for item in dataset:
        result[(item.subset, item.id)] = [
            (names[a.label], a.x, a.y, a.x + a.w, a.y + a.h, dict(a.attributes))
            for a in item.annotations
            if isinstance(a, Bbox)
        ]
    return result


def tfodkit_boxes(dataset: Dataset) -> dict[tuple[str, str], list[tuple]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = list(dataset)
    result = {}
    for item in items:
        columns = {name: item.objects.attribute(name) for name in item.objects.attributes}
        result[(item.subset, item.id)] = [
            (dataset.label_map.name_of(label_id), *box, {name: column[k] for name, column in columns.items()})
            for k, (box, label_id) in enumerate(
                zip(item.objects.boxes.tolist(), item.objects.label_ids.tolist(), strict=True)
            )
        ]
    return result


def assert_same_boxes(ours: dict, theirs: dict, *, atol: float = 1e-6, flags: bool = False) -> None:
    assert sorted(ours) == sorted(theirs)
    count = 0
    for key, our_objects in ours.items():
        their_objects = theirs[key]
        # Datumaro's COCO importer does not keep the annotation order: compare in a canonical order.
        our_objects = sorted(our_objects, key=lambda o: (o[0], *np.round(o[1:5], 1)))
        their_objects = sorted(their_objects, key=lambda t: (t[0], *np.round(t[1:5], 1)))
        assert [o[0] for o in our_objects] == [t[0] for t in their_objects], key
        assert np.allclose([o[1:5] for o in our_objects], [t[1:5] for t in their_objects], atol=atol), key
        if flags:
            for our, their in zip(our_objects, their_objects, strict=True):
                for name in ("difficult", "truncated", "occluded"):
                    assert bool(our[5][name]) == bool(their[5][name]), (key, name)
                assert our[5]["pose"] == their[5]["pose"], key
        count += len(our_objects)
    assert count > 0


# ---------------------------------------------------------------------------------------------- Datumaro -> tfodkit
def test_datumaro_voc_export_reads_the_same(tmp_path: Path) -> None:
    source = datumaro_dataset(tmp_path / "src")
    source.export(str(tmp_path / "voc"), "voc_detection", save_media=True)
    ours = voc.read(str(tmp_path / "voc"))
    assert ours.label_map.names == LABELS  # labelmap.txt's "background" is VOC's class 0, not a label
    assert_same_boxes(tfodkit_boxes(ours), datumaro_boxes(source), flags=True)


def test_datumaro_coco_export_reads_the_same(tmp_path: Path) -> None:
    source = datumaro_dataset(tmp_path / "src", with_polygon=True)
    source.export(str(tmp_path / "coco"), "coco_instances", save_media=True)
    ours = coco.read(str(tmp_path / "coco"))
    assert ours.label_map.names == LABELS
    expected = datumaro_boxes(source)
    for item in source:  # COCO gives a polygon its bounding box
        for annotation in item.annotations:
            if isinstance(annotation, Polygon):
                x1, y1, x2, y2 = (
                    annotation.get_bbox()[0],
                    annotation.get_bbox()[1],
                    *np.add(annotation.get_bbox()[:2], annotation.get_bbox()[2:]),
                )
                expected[(item.subset, item.id)].append((LABELS[annotation.label], x1, y1, x2, y2, {}))
    assert_same_boxes(tfodkit_boxes(ours), expected, atol=0.01)  # Datumaro rounds COCO boxes to 2 decimals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        polygons = [p for item in ours for ps in item.objects.polygons for p in ps]
    assert [p.tolist() for p in polygons] == [[[2.0, 3.0], [20.5, 3.0], [11.0, 17.25]]] * 5


@pytest.mark.parametrize(
    ("exporter", "subsets"), [("yolo", ("train", "valid")), ("yolo_ultralytics", ("train", "val"))]
)
def test_datumaro_yolo_export_reads_the_same(tmp_path: Path, exporter: str, subsets: tuple[str, str]) -> None:
    source = datumaro_dataset(tmp_path / "src", subsets=subsets)
    source.export(str(tmp_path / "yolo"), exporter, save_media=True)
    ours = yolo.read(str(tmp_path / "yolo"))
    assert ours.label_map.names == LABELS
    assert_same_boxes(tfodkit_boxes(ours), datumaro_boxes(source), atol=1e-3)  # Datumaro writes 6 decimals


# ---------------------------------------------------------------------------------------------- tfodkit -> Datumaro
def test_datumaro_imports_our_voc(tmp_path: Path) -> None:
    ours = tfodkit_dataset(tmp_path / "src")
    voc.write(ours, str(tmp_path / "voc"))
    theirs = DatumaroDataset.import_from(str(tmp_path / "voc"), "voc_detection")
    assert_same_boxes(tfodkit_boxes(ours), datumaro_boxes(theirs), flags=True)
    for item in theirs:
        assert item.media.size == next(i.image.size[::-1] for i in ours if i.id == item.id)


def test_datumaro_imports_our_coco(tmp_path: Path) -> None:
    ours = tfodkit_dataset(tmp_path / "src")
    coco.write(ours, str(tmp_path / "coco"))
    theirs = DatumaroDataset.import_from(str(tmp_path / "coco"), "coco_instances")
    assert [label.name for label in theirs.categories()[AnnotationType.label]] == LABELS
    assert_same_boxes(tfodkit_boxes(ours), datumaro_boxes(theirs))
    for item in theirs:
        for annotation in item.annotations:
            assert annotation.attributes["is_crowd"] is False
    assert all(item.media.has_data for item in theirs)


@pytest.mark.parametrize("layout", ["darknet", "ultralytics"])
def test_datumaro_imports_our_yolo(tmp_path: Path, layout: str) -> None:
    ours = tfodkit_dataset(tmp_path / "src")
    yolo.write(ours, str(tmp_path / "yolo"), layout=layout)
    theirs = DatumaroDataset.import_from(str(tmp_path / "yolo"), "yolo")
    assert [label.name for label in theirs.categories()[AnnotationType.label]] == LABELS
    assert_same_boxes(tfodkit_boxes(ours), datumaro_boxes(theirs), atol=1e-6)
