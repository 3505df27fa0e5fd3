"""Writing with worker processes: records come back through spool chunk files (tfodkit.spool) and the CVAT zip
streams its first record file straight into the archive. Every output must equal the one-worker output, byte
for byte, and nothing may be left behind."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_items

from tfodkit.formats import cvat_zip, tfod
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.parallel import ordered_map
from tfodkit.records import read_records, write_record
from tfodkit.spool import SpooledBytes


@pytest.fixture
def many(tmp_path: Path, label_map: LabelMap) -> Dataset:
    """70 items (three chunks of 32 for the workers), subsets train/val interleaved."""
    images = tmp_path / "images"
    images.mkdir()
    return Dataset(make_items(images, 70), label_map, name="many")


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_folder_output_is_the_same_with_two_workers(tmp_path: Path, many: Dataset, compression: str | None) -> None:
    tfod.write(many, str(tmp_path / "one"), compression=compression, workers=1)
    tfod.write(many, str(tmp_path / "two"), compression=compression, workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert sorted(_files(tmp_path / "two")) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]  # no spool left


def test_zip_export_is_the_same_with_two_workers_and_keeps_member_order(tmp_path: Path, many: Dataset) -> None:
    for workers in (1, 2):
        cvat_zip.write(many, str(tmp_path / f"w{workers}.zip"), save_images=True, workers=workers)
    assert (tmp_path / "w1.zip").read_bytes() == (tmp_path / "w2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "w2.zip") as archive:
        assert archive.namelist() == ["train.tfrecord", "val.tfrecord", "label_map.pbtxt"]
        assert archive.testzip() is None  # every member's CRC-32 checks
        assert len(list(read_records(io.BytesIO(archive.read("val.tfrecord"))))) == 35
    assert sorted(os.listdir(tmp_path)) == ["images", "w1.zip", "w2.zip"]  # no staging left


def test_zip_export_streams_a_subset_that_comes_second(tmp_path: Path, many: Dataset) -> None:
    # val items first: val.tfrecord is the streamed member, train.tfrecord is staged and added after it.
    items = sorted(many, key=lambda item: item.subset != "val")
    cvat_zip.write(Dataset(items, many.label_map), str(tmp_path / "out.zip"), save_images=True)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.namelist() == ["val.tfrecord", "train.tfrecord", "label_map.pbtxt"]
        assert archive.testzip() is None
    back = {item.id: item.subset for item in cvat_zip.read(str(tmp_path / "out.zip"))}
    assert back == {item.id: item.subset for item in many}


def _failing(items: list[Item], after: int) -> Iterator[Item]:
    yield from items[:after]
    raise RuntimeError("disk on fire")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_zip_export_leaves_nothing(tmp_path: Path, many: Dataset, workers: int) -> None:
    broken = Dataset(lambda: _failing(list(many), 60), many.label_map)
    with pytest.raises(RuntimeError, match="disk on fire"):
        cvat_zip.write(broken, str(tmp_path / "out.zip"), save_images=True, workers=workers)
    assert os.listdir(tmp_path) == ["images"]


def test_a_failed_folder_write_with_workers_leaves_no_spool(tmp_path: Path, many: Dataset) -> None:
    broken = Dataset(lambda: _failing(list(many), 60), many.label_map)
    with pytest.raises(RuntimeError, match="disk on fire"):
        tfod.write(broken, str(tmp_path / "out"), workers=2)
    assert os.listdir(tmp_path) == ["images"]


def _framed(value: int) -> tuple[int, bytes]:
    return value, bytes([value]) * value


def test_ordered_map_hands_spooled_records_back_in_order(tmp_path: Path) -> None:
    values = list(range(1, 50))
    results = ordered_map(_framed, values, workers=2, chunk_size=4, spool_dir=str(tmp_path), spool_write=write_record)
    out = io.BytesIO()
    for value, spooled in results:
        assert isinstance(spooled, SpooledBytes) and spooled.length == value + 16  # framed: 12 + data + 4
        spooled.copy_to(out)
    assert list(read_records(io.BytesIO(out.getvalue()))) == [bytes([value]) * value for value in values]
    assert os.listdir(tmp_path) == []  # every chunk file unlinked once read


def test_spooled_copy_into_a_file_matches_the_bytes(tmp_path: Path) -> None:
    chunk = tmp_path / "chunk"
    chunk.write_bytes(b"x" * 10 + b"payload" * 1000 + b"y" * 10)
    with open(chunk, "rb") as source, open(tmp_path / "out", "wb") as out:
        out.write(b"head")
        SpooledBytes(source.fileno(), 10, 7000).copy_to(out)
        out.write(b"tail")  # the buffered stream writes after the kernel's copy, not over it
    assert (tmp_path / "out").read_bytes() == b"head" + b"payload" * 1000 + b"tail"
