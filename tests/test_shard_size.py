"""`--shard-size BYTES`: shards filled in item order, a new one before a record would pass the size."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfodkit.errors import UsageError
from tfodkit.formats import tfod
from tfodkit.model import Dataset, LabelMap
from tfodkit.records import read_records


def expected_split(records: list[bytes], limit: int) -> list[list[bytes]]:
    """The shards a size limit gives, worked out here from the record sizes alone (16 framing bytes each)."""
    shards: list[list[bytes]] = [[]]
    used = 0
    for record in records:
        size = len(record) + 16
        if shards[-1] and used + size > limit:
            shards.append([])
            used = 0
        shards[-1].append(record)
        used += size
    return shards


def test_shards_follow_the_size_limit_in_item_order(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "whole.tfrecord"))
    records = list(read_records(str(tmp_path / "whole.tfrecord")))
    limit = max(len(record) for record in records) + 100  # room for one record, not for two of the larger ones
    tfod.write(dataset, str(tmp_path / "out" / "all.tfrecord"), shard_size=limit)
    expected = expected_split(records, limit)
    assert len(expected) >= 2
    files = sorted((tmp_path / "out").glob("all-*.tfrecord"))
    assert [file.name for file in files] == [
        f"all-{i:05d}-of-{len(expected):05d}.tfrecord" for i in range(len(expected))
    ]
    assert [list(read_records(str(file))) for file in files] == expected
    for file, shard in zip(files, expected, strict=True):
        assert file.stat().st_size <= limit or len(shard) == 1
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if not path.name.startswith("all-")) == [
        "label_map.pbtxt"
    ]


def test_a_record_larger_than_the_limit_gets_a_shard_of_its_own(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "out" / "all.tfrecord"), shard_size=1)
    files = sorted((tmp_path / "out").glob("all-*.tfrecord"))
    assert len(files) == len(list(dataset))
    assert all(len(list(read_records(str(file)))) == 1 for file in files)


def test_folder_output_rolls_each_subset_and_workers_change_nothing(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "one"), shard_size=3000, workers=1)
    tfod.write(dataset, str(tmp_path / "two"), shard_size=3000, workers=2)
    one = {path.name: path.read_bytes() for path in (tmp_path / "one").iterdir()}
    two = {path.name: path.read_bytes() for path in (tmp_path / "two").iterdir()}
    assert one == two
    assert {name.split("-")[0] for name in one if name.endswith(".tfrecord")} == {"train", "val"}
    read_back = sorted(item.id for item in tfod.read(str(tmp_path / "one")))
    assert read_back == sorted(item.id for item in dataset)


def test_an_empty_dataset_gives_one_empty_shard(tmp_path: Path) -> None:
    tfod.write(Dataset([], LabelMap()), str(tmp_path / "empty.tfrecord"), shard_size=1000)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty-00000-of-00001.tfrecord", "label_map.pbtxt"]


def test_compressed_shards_read_back(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "all.tfrecord.gz"), shard_size=3000, compression="gzip")
    files = sorted(tmp_path.glob("all-*-of-*.tfrecord.gz"))
    assert len(files) >= 2
    assert sum(len(list(read_records(str(file)))) for file in files) == len(list(dataset))


def test_shards_and_shard_size_exclude_each_other(tmp_path: Path, dataset: Dataset) -> None:
    with pytest.raises(UsageError, match="exclude"):
        tfod.write(dataset, str(tmp_path / "x.tfrecord"), shards=2, shard_size=1000)
    assert not list(tmp_path.glob("x*"))
