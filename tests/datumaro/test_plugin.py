"""tfodkit's Datumaro plugin beyond Datumaro's own tests: no TensorFlow, registration, and the faults it fixes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("datumaro.components")  # Datumaro lives only in .venv-datumaro (`make datumaro-test`)

from datumaro.components.annotation import AnnotationType, Bbox, Mask, Polygon
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.components.environment import DEFAULT_ENVIRONMENT, Environment
from datumaro.components.media import Image
from datumaro.util.image import encode_image

import tfodkit.datumaro
from tfodkit.errors import TfodWarning
from tfodkit.formats import tfod

ROOT = Path(__file__).resolve().parents[2]


def test_tensorflow_is_not_installed_here() -> None:
    assert find_spec("tensorflow") is None
    with pytest.raises(ImportError):
        import tensorflow  # noqa: F401


def test_registered_in_default_and_fresh_environments_once() -> None:
    tfodkit.datumaro.register()  # a second call changes nothing
    for env in (DEFAULT_ENVIRONMENT, Environment()):
        assert "tf_detection_api" in env.importers and "tf_detection_api" in env.exporters
        assert env.exporters.get("tf_detection_api").__module__ == "tfodkit.datumaro.exporter"
        entries = [name for name, _ in env.importers.extension_groups[".tfrecord"] if name == "tf_detection_api"]
        assert entries == ["tf_detection_api"]


def test_registered_after_datumaro_reloads_its_builtins() -> None:
    Environment.release_builtin_plugins()  # the next Environment reads specs.json again
    assert "tf_detection_api" in Environment().extractors


def _jpeg(height: int, width: int) -> bytes:
    pixels = (np.arange(height * width * 3) % 251).reshape(height, width, 3).astype(np.uint8)
    return encode_image(pixels, ".jpg", jpeg_quality=75)


def test_jpeg_bytes_embedded_unchanged(tmp_path: Path) -> None:
    data = _jpeg(12, 10)
    dataset = Dataset.from_iterable([DatasetItem("a", media=Image.from_bytes(data=data))], categories=["cat"])
    dataset.export(str(tmp_path), "tf_detection_api", save_media=True)
    [item] = tfod.read(str(tmp_path))
    assert item.image.data == data  # Datumaro's exporter decodes and re-encodes it
    jpeg_file = tmp_path / "b.jpg"
    jpeg_file.write_bytes(data)
    out = tmp_path / "from_file"
    Dataset.from_iterable([DatasetItem("b", media=Image.from_file(str(jpeg_file)))]).export(
        str(out), "tf_detection_api", save_media=True
    )
    assert next(iter(tfod.read(str(out)))).image.data == data


def test_masked_object_keeps_its_box(tmp_path: Path) -> None:
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:4, 2:4] = True
    dataset = Dataset.from_iterable(
        [
            DatasetItem(
                "a",
                media=Image.from_numpy(data=np.ones((8, 8, 3))),
                annotations=[Mask(image=mask, label=0, group=1, id=1), Bbox(1, 1, 5, 5, label=0, group=1, id=1)],
            )
        ],
        categories=["cat"],
    )
    dataset.export(str(tmp_path), "tf_detection_api", save_masks=True)
    [item] = tfod.read(str(tmp_path))
    assert item.objects.boxes.tolist() == [[1, 1, 6, 6]] and item.objects.masks[0].array.sum() == 4
    back = Dataset.import_from(str(tmp_path), "tf_detection_api").get("a")
    assert sorted(a.type.name for a in back.annotations) == ["bbox", "mask"]
    assert next(a for a in back.annotations if a.type == AnnotationType.bbox).get_bbox() == [1, 1, 5, 5]


def test_reads_without_label_map_and_keeps_non_ascii_names(tmp_path: Path) -> None:
    dataset = Dataset.from_iterable(
        [
            DatasetItem(
                "a",
                subset="train",
                media=Image.from_numpy(data=np.ones((4, 4, 3))),
                annotations=[Bbox(0, 0, 2, 2, label=1)],
            )
        ],
        categories=["кот", "собака"],
    )
    dataset.export(str(tmp_path), "tf_detection_api", save_media=True)
    assert "собака" in (tmp_path / "label_map.pbtxt").read_text(encoding="utf-8")
    (tmp_path / "label_map.pbtxt").unlink()  # Datumaro's reader crashes here
    back = Dataset.import_from(str(tmp_path), "tf_detection_api")
    labels = back.categories()[AnnotationType.label]
    [box] = back.get("a", "train").annotations
    assert labels[box.label].name == "собака"


def test_label_map_ids_with_gaps(tmp_path: Path) -> None:
    from tfodkit.model import Dataset as TfodDataset
    from tfodkit.model import ImageRef, Item, LabelMap, Objects

    label_map = LabelMap.from_names(["a"])
    label_map.add("b", 7)
    item = Item("x", ImageRef("x.png", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [7]))
    tfod.write(TfodDataset([item], label_map), str(tmp_path / "train.tfrecord"), save_images=False)
    back = Dataset.import_from(str(tmp_path), "tf_detection_api")
    [box] = back.get("x", "train").annotations
    assert back.categories()[AnnotationType.label][box.label].name == "b"


def test_annotations_it_cannot_hold_are_said(tmp_path: Path) -> None:
    dataset = Dataset.from_iterable(
        [
            DatasetItem(
                "a",
                media=Image.from_numpy(data=np.ones((8, 8, 3))),
                annotations=[Polygon([0, 0, 4, 0, 4, 4], label=0), Bbox(0, 0, 2, 2, label=0)],
            )
        ],
        categories=["cat"],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset.export(str(tmp_path), "tf_detection_api")
    said = [str(w.message) for w in caught if issubclass(w.category, TfodWarning)]
    assert any("polygon annotations not exported" in text for text in said), said


def test_python_m_runs_datum_convert_without_tensorflow(tmp_path: Path) -> None:
    source = tmp_path / "source"
    Dataset.from_iterable(
        [DatasetItem("a", media=Image.from_bytes(data=_jpeg(6, 6)), annotations=[Bbox(1, 1, 2, 2, label=0)])],
        categories=["cat"],
    ).export(str(source), "tf_detection_api", save_media=True)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfodkit.datumaro",
            "convert",
            "-i",
            str(source),
            "-if",
            "tf_detection_api",
            "-f",
            "tf_detection_api",
            "-o",
            str(out),
            "--",
            "--save-media",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [item] = tfod.read(str(out))
    assert np.allclose(item.objects.boxes, [[1, 1, 3, 3]])  # float32 in the record


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from tfodkit.model import Dataset as TfodDataset
    from tfodkit.model import ImageRef, Item, LabelMap, Objects

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "tfodkit.datumaro" in block]
    monkeypatch.chdir(tmp_path)
    data = _jpeg(12, 10)
    items = [Item("a", ImageRef("a.jpg", data=data, width=10, height=12), Objects.from_boxes([[1, 2, 5, 6]], [1]))]
    tfod.write(TfodDataset(items, LabelMap.from_names(["cat"])), "records/default.tfrecord")
    os.remove("records/label_map.pbtxt")  # the example says none is needed
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    [item] = tfod.read("out")
    assert item.image.read() == data
    assert np.allclose(item.objects.boxes, [[1, 2, 5, 6]])  # float32 in the record
