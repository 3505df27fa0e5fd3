"""Record index files (`tfod index`): the tfrecord package's "offset size" text format, random access."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.errors import CorruptRecordError, FormatError, UsageError
from tfodkit.formats import tfod
from tfodkit.index import RecordIndex, build_index, index_path_for, read_index, write_index
from tfodkit.model import Dataset
from tfodkit.records import RecordWriter, read_records


def write_file(path: Path, records: list[bytes], compression: str | None = None) -> Path:
    with RecordWriter(str(path), compression=compression) as writer:
        for record in records:
            writer.write(record)
    return path


def walk_framing(data: bytes) -> list[tuple[int, int]]:
    """The (offset, framed size) pairs of a plain TFRecord byte string, walked independently of tfodkit."""
    pairs, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        pairs.append((offset, 12 + length + 4))
        offset += 12 + length + 4
    return pairs


RECORDS = [b"", b"a", b"x" * 1000, bytes(range(256)) * 3, b"last"]


def test_index_lines_are_offset_and_framed_size(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    index_path = write_index(path)
    assert index_path == str(path) + ".idx"
    lines = Path(index_path).read_text().splitlines()
    assert [tuple(map(int, line.split(" "))) for line in lines] == walk_framing(path.read_bytes())
    assert read_index(index_path).tolist() == [list(pair) for pair in walk_framing(path.read_bytes())]


def test_random_access_reads_every_record_in_any_order(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    write_index(path)
    records = RecordIndex(path)
    assert len(records) == len(RECORDS)
    for position in np.random.default_rng(0).permutation(len(RECORDS)):
        assert records.read(int(position)) == RECORDS[position]
    records.close()


def test_random_access_without_an_index_file_scans_the_file(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    assert not Path(index_path_for(path)).exists()
    assert RecordIndex(path).read(3) == RECORDS[3]


def test_an_empty_file_has_an_empty_index(tmp_path: Path) -> None:
    path = write_file(tmp_path / "empty.tfrecord", [])
    write_index(path)
    assert Path(index_path_for(path)).read_text() == ""
    assert build_index(path).shape == (0, 2)


def test_compressed_files_cannot_be_indexed(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord.gz", RECORDS, compression="gzip")
    with pytest.raises(UsageError, match="compressed"):
        write_index(path)


def test_a_stale_index_is_detected(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    write_index(path)
    write_file(path, [b"other", b"records"])
    with pytest.raises(CorruptRecordError) as raised:
        RecordIndex(path).read(2)
    assert raised.value.path == str(path)


def test_a_damaged_record_fails_its_crc(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    write_index(path)
    data = bytearray(path.read_bytes())
    offset, size = walk_framing(bytes(data))[2]
    data[offset + 12 + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError, match="data CRC"):
        RecordIndex(path).read(2)
    assert RecordIndex(path, verify=False).read(1) == RECORDS[1]


def test_bad_index_lines_name_the_line(tmp_path: Path) -> None:
    index_path = tmp_path / "a.tfrecord.idx"
    index_path.write_text("0 17\n17 nope\n")
    with pytest.raises(FormatError) as raised:
        read_index(index_path)
    assert raised.value.line == 2


def test_tfod_index_writes_one_index_per_shard_and_readers_skip_them(tmp_path: Path, dataset: Dataset) -> None:
    out = tmp_path / "out"
    tfod.write(dataset, str(out / "all.tfrecord"), shards=3)
    assert run("index", str(out), "-q") == 0
    shards = sorted(out.glob("all-*-of-00003.tfrecord"))
    assert len(shards) == 3
    for shard in shards:
        index = read_index(index_path_for(shard))
        assert len(index) == len(list(read_records(str(shard))))
        assert [RecordIndex(shard).read(i) for i in range(len(index))] == list(read_records(str(shard)))
    # The .idx files beside the shards are not taken for record files.
    assert sorted(item.id for item in tfod.read(str(out))) == sorted(item.id for item in dataset)


def test_tfod_index_on_a_glob_and_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(tmp_path / "a.tfrecord", RECORDS)
    write_file(tmp_path / "b.tfrecord", RECORDS[:2])
    assert run("index", str(tmp_path / "*.tfrecord")) == 0
    assert "b.tfrecord.idx: 2 records" in capsys.readouterr().out
    (tmp_path / "c.tfrecord").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00junk")
    assert run("index", str(tmp_path / "c.tfrecord")) == 2
    assert "c.tfrecord" in capsys.readouterr().err
    assert not (tmp_path / "c.tfrecord.idx").exists()
