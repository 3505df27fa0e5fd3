"""CVAT for images 1.1 XML against the real Datumaro (the engine behind CVAT's dataset import/export)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfodkit.formats import cvat_xml
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg

pytestmark = pytest.mark.interop

datumaro = pytest.importorskip("datumaro")

from datumaro.components.annotation import AnnotationType, Bbox, Polygon  # noqa: E402
from datumaro.components.dataset import Dataset as DatumaroDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image as DatumaroImage  # noqa: E402

LABELS = ["car", "person", "voiture rouge", "自行车", "a&b <c>"]


def _our_dataset(folder: Path) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    items = []
    for index in range(6):
        path = folder / f"{index:04d}.jpg"
        path.write_bytes(make_jpeg(96, 72, index))
        count = 0 if index == 5 else 3
        corners = rng.uniform(0, 40, size=(count, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(5, 30, size=(count, 2))], axis=1)
        polygons: list[list[np.ndarray]] = [[] for _ in range(count)]
        if count:
            triangle = np.array([[5.0, 5.0], [40.5, 8.25], [20.0, 30.0]])
            polygons[0] = [triangle]
            boxes[0] = [5.0, 5.0, 40.5, 30.0]
        objects = Objects(
            boxes=boxes,
            label_ids=rng.integers(1, len(LABELS) + 1, size=count),
            polygons=polygons,
            attributes={
                "occluded": [bool(value) for value in rng.integers(0, 2, size=count)],
                "note": [f"n{index}-{k}" for k in range(count)],
            },
        )
        subset = ["train", "val", "test"][index % 3]
        items.append(Item(f"{index:04d}", ImageRef(path.name, path=str(path), width=96, height=72), objects, subset))
    return Dataset(items, LabelMap.from_names(LABELS), name="interop")


def test_datumaro_imports_our_export(tmp_path: Path) -> None:
    ours = _our_dataset(tmp_path / "src")
    out = tmp_path / "out"
    cvat_xml.write(ours, str(out), save_images=True)

    theirs = DatumaroDataset.import_from(str(out), "cvat")
    their_labels = [label.name for label in theirs.categories()[AnnotationType.label]]
    assert their_labels == LABELS
    by_key = {(item.subset, item.id): item for item in theirs}
    assert len(by_key) == 6
    for item in ours:
        their_item = by_key[(item.subset, item.id)]
        assert their_item.media.bytes == item.image.read()
        theirs_shapes = []
        for annotation in their_item.annotations:
            if annotation.type == AnnotationType.bbox:
                x, y, w, h = annotation.get_bbox()
                kind, coordinates = "box", [x, y, x + w, y + h]
            else:
                assert annotation.type == AnnotationType.polygon
                kind, coordinates = "polygon", list(annotation.points)
            theirs_shapes.append(
                (
                    their_labels[annotation.label],
                    kind,
                    coordinates,
                    annotation.attributes["occluded"],
                    annotation.attributes["note"],
                )
            )
        ours_shapes = []
        for index in range(len(item.objects)):
            polygons = item.objects.polygons[index]
            if polygons:
                kind, coordinates = "polygon", polygons[0].reshape(-1).tolist()
            else:
                kind, coordinates = "box", item.objects.boxes[index].tolist()
            ours_shapes.append(
                (
                    ours.label_map.name_of(item.objects.label_ids[index]),
                    kind,
                    coordinates,
                    item.objects.attribute("occluded")[index],
                    item.objects.attribute("note")[index],
                )
            )
        # Datumaro keeps coordinates as float32 rounded to 2 decimals; everything else must be equal
        assert [(label, kind, occluded, note) for label, kind, _, occluded, note in theirs_shapes] == [
            (label, kind, occluded, note) for label, kind, _, occluded, note in ours_shapes
        ]
        for theirs_shape, ours_shape in zip(theirs_shapes, ours_shapes, strict=True):
            assert np.allclose(theirs_shape[2], ours_shape[2], atol=0.006)


def test_we_read_datumaro_cvat_export(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    their_items = []
    for index in range(4):
        image = rng.integers(0, 255, size=(50, 70, 3), dtype=np.uint8)
        annotations = [
            Bbox(float(x), float(y), 10.5, 12.25, label=int(label), z_order=int(index), attributes={"occluded": True})
            for x, y, label in zip(rng.integers(0, 40, 2), rng.integers(0, 30, 2), rng.integers(0, 3, 2), strict=True)
        ]
        annotations.append(Polygon([1.0, 1.0, 20.0, 2.0, 10.0, 15.5], label=1, group=4))
        their_items.append(
            DatasetItem(
                id=f"img{index}",
                subset="train" if index < 2 else "val",
                media=DatumaroImage.from_numpy(data=image),
                annotations=annotations,
            )
        )
    theirs = DatumaroDataset.from_iterable(their_items, categories=["cat", "dog", "自行车"])
    theirs.export(str(tmp_path / "datumaro_out"), "cvat", save_media=True)

    ours = cvat_xml.read(str(tmp_path / "datumaro_out"))
    items = {(item.subset, item.id): item for item in ours}
    assert ours.label_map.names == ["cat", "dog", "自行车"]
    assert len(items) == 4
    for their_item in their_items:
        item = items[(their_item.subset, their_item.id)]
        assert item.image.known_size == (70, 50)
        expected = []
        for annotation in their_item.annotations:
            x0, y0, w, h = annotation.get_bbox()
            expected.append(
                (
                    ["cat", "dog", "自行车"][annotation.label],
                    x0,
                    y0,
                    x0 + w,
                    y0 + h,
                    annotation.z_order,
                    annotation.group,
                )
            )
        columns = zip(
            item.objects.boxes.tolist(),
            item.objects.label_ids,
            item.objects.attribute("z_order"),
            item.objects.attribute("group"),
            strict=True,
        )
        got = [(ours.label_map.name_of(label), *box, z_order, group) for box, label, z_order, group in columns]
        assert [row[0] for row in got] == [row[0] for row in expected]
        assert [row[5:] for row in got] == [row[5:] for row in expected]
        # Datumaro writes two decimals
        assert np.allclose([row[1:5] for row in got], [row[1:5] for row in expected], atol=0.006)
        assert item.objects.attribute("occluded") == [True, True, False]
        np.testing.assert_allclose(item.objects.polygons[2][0], [[1.0, 1.0], [20.0, 2.0], [10.0, 15.5]])
