"""CVAT "TFRecord 1.0" against the real Datumaro (the engine of CVAT's format) and TensorFlow."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfodkit.formats import cvat_zip, tfod
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg

pytestmark = pytest.mark.interop

datumaro = pytest.importorskip("datumaro")
tf = pytest.importorskip("tensorflow")

from datumaro.components.annotation import AnnotationType, Bbox  # noqa: E402
from datumaro.components.dataset import Dataset as DatumaroDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image as DatumaroImage  # noqa: E402

# Datumaro parses label maps with a regex that stops at the first quote, so names with quotes are left out of
# the Datumaro side; tfodkit's own tests cover them.
LABELS = ["car", "person", "voiture rouge", "自行车"]


def _seed_features() -> dict:
    """The CVAT / TF OD API seed's feature description, from the tested tf.data recipe in examples/."""
    recipe = Path(__file__).resolve().parents[2] / "examples" / "tf_data_recipe.py"
    spec = importlib.util.spec_from_file_location("tf_data_recipe", recipe)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FEATURES


SEED_FEATURES = _seed_features()


def _our_dataset(folder: Path) -> Dataset:
    rng = np.random.default_rng(7)
    items = []
    for index in range(5):
        width, height = 120, 90
        path = folder / f"{index:04d}.jpg"
        path.write_bytes(make_jpeg(width, height, index))
        count = 0 if index == 4 else 3
        corners = rng.uniform(0, 50, size=(count, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(5, 35, size=(count, 2))], axis=1)
        objects = Objects.from_boxes(boxes, rng.integers(1, len(LABELS) + 1, size=count))
        items.append(
            Item(
                f"{index:04d}",
                ImageRef(path.name, path=str(path), width=width, height=height),
                objects,
                subset="train" if index < 3 else "val",
                attributes={"source_id": str(index)},
            )
        )
    return Dataset(items, LabelMap.from_names(LABELS))


def test_datumaro_imports_our_export(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    ours = _our_dataset(tmp_path / "images")
    archive = tmp_path / "task.zip"
    cvat_zip.write(ours, str(archive), save_images=True)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)

    theirs = DatumaroDataset.import_from(str(unpacked), "tf_detection_api")
    their_labels = [label.name for label in theirs.categories()[AnnotationType.label]]
    assert their_labels == LABELS
    by_id = {(item.subset, item.id): item for item in theirs}
    assert len(by_id) == 5
    for item in ours:
        their_item = by_id[(item.subset, item.id)]
        their_boxes = sorted(
            (their_labels[a.label], *map(float, a.get_bbox()))
            for a in their_item.annotations
            if a.type == AnnotationType.bbox
        )
        our_boxes = sorted(
            (ours.label_map.name_of(label), x0, y0, x1 - x0, y1 - y0)
            for (x0, y0, x1, y1), label in zip(item.objects.boxes.tolist(), item.objects.label_ids, strict=True)
        )
        assert [box[0] for box in their_boxes] == [box[0] for box in our_boxes]
        width, height = item.image.size
        for theirs_box, ours_box in zip(their_boxes, our_boxes, strict=True):
            # Datumaro rounds x, y, w, h to 2 decimals (w, h after clamping): ≤ 0.01 px, plus float32 storage
            assert np.allclose(theirs_box[1:], ours_box[1:], atol=0.01 + max(width, height) * 1e-6)
        assert their_item.media.bytes == item.image.read()  # byte for byte, never re-encoded


def test_tensorflow_parses_every_exported_record_with_the_seed_description(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    ours = _our_dataset(tmp_path / "images")
    out = tmp_path / "out"
    tfod.write(ours, str(out), save_images=True)
    parsed = 0
    for subset in ("train", "val"):
        for record in tf.data.TFRecordDataset(str(out / f"{subset}.tfrecord")):
            example = tf.io.parse_single_example(record, SEED_FEATURES)
            assert example["image/format"].numpy() == b"jpeg"
            texts = tf.sparse.to_dense(example["image/object/class/text"], default_value=b"").numpy()
            labels = tf.sparse.to_dense(example["image/object/class/label"]).numpy()
            assert [ours.label_map.id_of(text.decode()) for text in texts] == labels.tolist()
            parsed += 1
    assert parsed == 5


def test_we_import_datumaro_export_identically(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    their_items = []
    for index in range(4):
        image = rng.integers(0, 255, size=(60, 80, 3), dtype=np.uint8)
        corners = zip(rng.integers(0, 60, 3), rng.integers(0, 40, 3), rng.integers(0, 3, 3), strict=True)
        annotations = [Bbox(float(x), float(y), 10.0, 12.0, label=int(label)) for x, y, label in corners]
        their_items.append(
            DatasetItem(
                id=f"img{index}",
                subset="default",
                media=DatumaroImage.from_numpy(data=image),
                annotations=annotations,
                attributes={"source_id": str(index)},
            )
        )
    theirs = DatumaroDataset.from_iterable(their_items, categories=["cat", "dog", "自行车"])
    theirs.export(str(tmp_path / "datumaro_out"), "tf_detection_api", save_media=True)

    ours = cvat_zip.read(str(tmp_path / "datumaro_out"))
    items = {item.id: item for item in ours}
    assert ours.label_map.names == ["cat", "dog", "自行车"]
    for their_item in their_items:
        item = items[their_item.id]
        assert item.attributes["source_id"] == their_item.attributes["source_id"]
        names = ["cat", "dog", "自行车"]
        expected = sorted((names[a.label], a.x, a.y, a.x + a.w, a.y + a.h) for a in their_item.annotations)
        got = sorted(
            (ours.label_map.name_of(label), *box)
            for box, label in zip(item.objects.boxes.tolist(), item.objects.label_ids, strict=True)
        )
        assert [name for name, *_ in got] == [name for name, *_ in expected]
        assert np.allclose([box for _, *box in got], [box for _, *box in expected], atol=1e-3)
