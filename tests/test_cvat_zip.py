"""CVAT "TFRecord 1.0" archives: export and import, with and without images and label maps."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfodkit.errors import FormatError, UnsafeArchiveError
from tfodkit.example import decode_example, encode_example
from tfodkit.formats import cvat_zip
from tfodkit.model import Dataset
from tfodkit.records import RecordWriter, read_records


def test_export_layout_and_embedded_images_are_byte_identical(tmp_path: Path, dataset: Dataset) -> None:
    archive_path = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive_path), save_images=True)
    with zipfile.ZipFile(archive_path) as archive:
        assert sorted(archive.namelist()) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]
        label_map_text = archive.read("label_map.pbtxt").decode()
    assert "id: 1" in label_map_text and "car" in label_map_text
    originals = {item.image.name: item.image.read() for item in dataset}
    imported = list(cvat_zip.read(str(archive_path)))
    assert len(imported) == len(originals)
    for item in imported:
        assert item.image.read() == originals[item.image.name]


def test_export_without_images_keeps_the_image_keys_empty(tmp_path: Path, dataset: Dataset) -> None:
    archive_path = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive_path))
    with zipfile.ZipFile(archive_path) as archive:
        record = next(iter(read_records(io.BytesIO(archive.read("train.tfrecord")))))
    features = decode_example(record)
    assert features["image/encoded"] == [b""] and features["image/format"] == [b""]
    assert features["image/key/sha256"] == [b""]


def test_round_trip_keeps_boxes_and_labels(tmp_path: Path, dataset: Dataset) -> None:
    archive_path = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive_path), save_images=True)
    imported = cvat_zip.read(str(archive_path))
    by_id = {item.id: item for item in imported}
    for item in dataset:
        back = by_id[item.id]
        assert back.subset == item.subset
        assert np.allclose(back.objects.boxes, item.objects.boxes, atol=1e-3)
        names = [imported.label_map.name_of(i) for i in back.objects.label_ids]
        assert names == [dataset.label_map.name_of(i) for i in item.objects.label_ids]


def test_a_bare_tfrecord_without_label_map_imports(tmp_path: Path) -> None:
    """Datumaro crashes on this; CVAT users upload exactly such zips."""
    record = encode_example(
        {
            "image/filename": [b"street.jpg"],
            "image/height": [100],
            "image/width": [200],
            "image/object/bbox/xmin": [0.1],
            "image/object/bbox/xmax": [0.5],
            "image/object/bbox/ymin": [0.2],
            "image/object/bbox/ymax": [0.6],
            "image/object/class/text": ["自行车"],
            "image/object/class/label": [4],
        }
    )
    records = io.BytesIO()
    with RecordWriter.to_stream(records) as writer:
        writer.write(record)
    archive_path = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("nested/anything.tfrecord", records.getvalue())
    dataset = cvat_zip.read(str(archive_path))
    items = list(dataset)
    assert [(item.subset, item.id) for item in items] == [("anything", "street")]
    assert dataset.label_map.name_of(4) == "自行车"
    assert items[0].objects.boxes[0].tolist() == pytest.approx([20, 20, 100, 60], abs=1e-4)


def test_archives_that_escape_are_refused(tmp_path: Path) -> None:
    archive_path = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("../../etc/x.tfrecord", b"")
    with pytest.raises(UnsafeArchiveError, match="outside the archive"):
        cvat_zip.read(str(archive_path))


def test_a_zip_without_records_is_a_format_error(tmp_path: Path) -> None:
    archive_path = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("readme.txt", b"hi")
    with pytest.raises(FormatError, match="no .tfrecord"):
        cvat_zip.read(str(archive_path))


def test_sha256_key_matches_the_embedded_bytes(tmp_path: Path, dataset: Dataset) -> None:
    archive_path = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive_path), save_images=True)
    with zipfile.ZipFile(archive_path) as archive:
        for record in read_records(io.BytesIO(archive.read("val.tfrecord"))):
            features = decode_example(record)
            assert features["image/key/sha256"][0] == hashlib.sha256(features["image/encoded"][0]).hexdigest().encode()


def test_detect(tmp_path: Path, dataset: Dataset) -> None:
    archive_path = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive_path))
    assert cvat_zip.detect(str(archive_path))
    assert not cvat_zip.detect(str(tmp_path / "nothing.zip"))


def test_export_and_import_through_an_fsspec_url(dataset: Dataset) -> None:
    import fsspec

    url = "memory://tfodkit-tests/cvat/task.zip"
    cvat_zip.write(dataset, url, save_images=True)
    assert fsspec.filesystem("memory").exists("/tfodkit-tests/cvat/task.zip")
    originals = {item.image.name: item.image.read() for item in dataset}
    imported = list(cvat_zip.read(url))
    assert {item.image.name: item.image.read() for item in imported} == originals
    assert not os.path.exists("memory:")  # nothing staged in the working folder
