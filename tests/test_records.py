"""The TFRecord container: framing, CRCs, compression, corruption, shards, sources."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tracemalloc
import zipfile
import zlib

import google_crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfodkit.errors import CorruptRecordError, FormatError, TfodError, UsageError
from tfodkit.records import (
    RecordWriter,
    count_records,
    detect_compression,
    expand_sources,
    find_shards,
    masked_crc32c,
    read_records,
    record_offsets,
    shard_names,
    write_record,
)
from tfodkit.storage import TEMP_MARKER

RECORDS = [b"", b"a", b"hello world", bytes(range(256)) * 3]


def reference_frame(records: list[bytes]) -> bytes:
    """The TFRecord byte stream, built independently from the spec (struct + google_crc32c)."""

    def mask(crc: int) -> int:
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    out = bytearray()
    for data in records:
        length = struct.pack("<Q", len(data))
        out += length + struct.pack("<I", mask(google_crc32c.value(length)))
        out += data + struct.pack("<I", mask(google_crc32c.value(data)))
    return bytes(out)


def write_file(path, records, compression=None) -> str:
    with RecordWriter(path, compression) as writer:
        for data in records:
            writer.write(data)
    return str(path)


# ------------------------------------------------------------------------------------------------- framing
def test_crc32c_is_castagnoli_and_masked_as_tensorflow_masks_it():
    assert google_crc32c.value(b"123456789") == 0xE3069283  # the CRC-32C check value
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_plain_file_is_the_reference_framing(tmp_path):
    path = write_file(tmp_path / "a.tfrecord", RECORDS)
    assert open(path, "rb").read() == reference_frame(RECORDS)


@pytest.mark.parametrize("compression, wbits", [("gzip", 31), ("zlib", 15)])
def test_compressed_file_is_one_deflate_stream_with_tensorflows_settings(tmp_path, compression, wbits):
    path = write_file(tmp_path / "a.tfrecord", RECORDS, compression)
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits, 9)
    expected = compressor.compress(reference_frame(RECORDS)) + compressor.flush()
    assert open(path, "rb").read() == expected


@pytest.mark.parametrize("compression", [None, "gzip", "zlib", "GZIP", "ZLIB", ""])
def test_round_trip_every_compression(tmp_path, compression):
    path = write_file(tmp_path / "a.tfrecord", RECORDS, compression)
    assert list(read_records(path)) == RECORDS
    assert list(read_records(path, compression=compression)) == RECORDS
    assert count_records(path) == len(RECORDS)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.binary(max_size=3000), max_size=12), compression=st.sampled_from([None, "gzip", "zlib"]))
def test_round_trip_property(tmp_path_factory, records, compression):
    path = write_file(tmp_path_factory.mktemp("rt") / "p.tfrecord", records, compression)
    assert list(read_records(path)) == records
    assert count_records(path) == len(records)
    offsets = record_offsets(path)
    assert [length for _, length in offsets] == [len(data) for data in records]
    expected = [sum(16 + len(data) for data in records[:i]) for i in range(len(records))]
    assert [offset for offset, _ in offsets] == expected


def test_write_accepts_bytearray_and_memoryview(tmp_path):
    path = tmp_path / "a.tfrecord"
    with RecordWriter(path) as writer:
        writer.write(bytearray(b"xy"))
        writer.write(memoryview(b"abcdef")[1:3])
    assert list(read_records(path)) == [b"xy", b"bc"]
    assert writer.records_written == 2


def test_empty_file_has_no_records(tmp_path):
    for compression in (None, "gzip", "zlib"):
        path = write_file(tmp_path / f"empty-{compression}.tfrecord", [], compression)
        assert list(read_records(path)) == []
        assert count_records(path) == 0


# ------------------------------------------------------------------------------------------------ reading others' files
def test_reads_python_gzip_multi_member_and_nul_padding(tmp_path):
    framed = reference_frame(RECORDS)
    path = tmp_path / "multi.tfrecord.gz"
    path.write_bytes(gzip.compress(framed[:7]) + gzip.compress(framed[7:40]) + b"\0\0\0" + gzip.compress(framed[40:]))
    assert list(read_records(path)) == RECORDS
    assert list(read_records(path, compression="gzip")) == RECORDS


def test_reads_default_level_zlib(tmp_path):
    path = tmp_path / "a.tfrecord"
    path.write_bytes(zlib.compress(reference_frame(RECORDS), 9))
    assert list(read_records(path)) == RECORDS


def test_reads_from_an_open_stream():
    framed = reference_frame(RECORDS)
    assert list(read_records(io.BytesIO(framed))) == RECORDS
    with pytest.raises(CorruptRecordError) as caught:
        list(read_records(io.BytesIO(framed[:-1]), name="a.zip!default.tfrecord"))
    assert caught.value.path == "a.zip!default.tfrecord"
    assert list(read_records(io.BytesIO(gzip.compress(framed)))) == RECORDS
    assert list(read_records(io.BytesIO(zlib.compress(framed)), compression="zlib")) == RECORDS


# ------------------------------------------------------------------------------------------------- detection
def test_plain_file_whose_length_bytes_look_like_gzip_or_zlib_is_read_as_plain(tmp_path):
    for first_two in (b"\x1f\x8b", b"\x78\x9c", b"\x78\x01"):
        length = int.from_bytes(first_two, "little")
        records = [bytes(length), b"next"]
        path = tmp_path / f"looks-{first_two.hex()}.tfrecord.gz"  # even a misleading suffix
        path.write_bytes(reference_frame(records))
        assert path.read_bytes()[:2] == first_two
        assert detect_compression(path.read_bytes()[:12], str(path)) is None
        assert list(read_records(path)) == records


def test_detection_by_magic_and_by_suffix():
    assert detect_compression(gzip.compress(b"x")[:12]) == "gzip"
    assert detect_compression(zlib.compress(b"xyz")[:12]) == "zlib"
    assert detect_compression(b"\x00\x01", "a.tfrecord.zz") == "zlib"
    assert detect_compression(b"\x00\x01", "a.tfrecord.GZ") == "gzip"
    assert detect_compression(b"\x00\x01", "a.tfrecord") is None


def test_unknown_compression_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        list(read_records(tmp_path / "x", compression="lz4"))
    with pytest.raises(UsageError):
        RecordWriter(tmp_path / "x", compression="auto")


# ------------------------------------------------------------------------------------------------- corruption
def small_plain_file(tmp_path) -> tuple[str, bytes, list[int]]:
    records = [b"abc", b"", b"0123456789"]
    data = reference_frame(records)
    path = tmp_path / "small.tfrecord"
    path.write_bytes(data)
    starts = [0]
    for record in records:
        starts.append(starts[-1] + 16 + len(record))
    return str(path), data, starts


def test_every_flipped_byte_is_caught_with_its_record_and_offset(tmp_path):
    path, data, starts = small_plain_file(tmp_path)
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        with open(path, "wb") as out:
            out.write(damaged)
        record = max(index for index, start in enumerate(starts[:-1]) if start <= position)
        with pytest.raises(CorruptRecordError) as caught:
            list(read_records(path, compression=None))
        assert caught.value.path == path
        assert caught.value.record_index == record
        assert caught.value.offset == starts[record]
        assert "small.tfrecord" in str(caught.value)


def test_flipped_data_byte_passes_when_verify_is_off(tmp_path):
    path, data, starts = small_plain_file(tmp_path)
    damaged = bytearray(data)
    damaged[12] ^= 1  # first data byte of record 0
    with open(path, "wb") as out:
        out.write(damaged)
    assert list(read_records(path, verify=False))[0] == b"`bc"


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_truncation_at_every_position(tmp_path, compression):
    records = [b"abc", b"", b"0123456789"]
    framed = reference_frame(records)
    boundaries = {0: 0, 19: 1, 35: 2, len(framed): 3}
    for cut in range(len(framed)):
        path = tmp_path / f"cut-{cut}.tfrecord"
        piece = framed[:cut]
        if compression:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31 if compression == "gzip" else 15, 9)
            piece = compressor.compress(piece) + compressor.flush()
        path.write_bytes(piece)
        if cut in boundaries:
            assert list(read_records(path, compression=compression)) == records[: boundaries[cut]]
            assert count_records(path, compression=compression) == boundaries[cut]
        else:
            with pytest.raises(CorruptRecordError):
                list(read_records(path, compression=compression))
            with pytest.raises(CorruptRecordError):
                count_records(path, compression=compression)
        os.remove(path)


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_truncated_compressed_stream(tmp_path, compression):
    path = write_file(tmp_path / "a.tfrecord", [os.urandom(5000)] * 3, compression)
    data = open(path, "rb").read()
    for cut in (len(data) - 1, len(data) // 2, 5):
        with open(path, "wb") as out:
            out.write(data[:cut])
        with pytest.raises(CorruptRecordError) as caught:
            list(read_records(path))
        assert caught.value.path == path


def huge_header(length: int) -> bytes:
    encoded = struct.pack("<Q", length)
    return encoded + struct.pack("<I", masked_crc32c(encoded))


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
@pytest.mark.parametrize("verify", [True, False])
def test_huge_length_prefix_allocates_nothing(tmp_path, compression, verify):
    framed = reference_frame([b"ok"]) + huge_header(1 << 60) + os.urandom(3_000_000)
    path = tmp_path / "huge.tfrecord"
    if compression:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31 if compression == "gzip" else 15, 9)
        framed = compressor.compress(framed) + compressor.flush()
    path.write_bytes(framed)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptRecordError) as caught:
            list(read_records(path, verify=verify))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.record_index == 1
    assert caught.value.offset == 18
    assert peak < 40_000_000  # the file's real content, never 2**60


def test_stream_record_above_the_cap_is_refused_before_reading(tmp_path):
    # 3 GiB announced, the data really there (as zeros, compressed to a few MB): refused up front, not inflated.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31, 9)
    pieces = [compressor.compress(huge_header(3 << 30))]
    zeros = bytes(1 << 20)
    for _ in range(64):  # 64 MiB is enough to show it is not read: the cap triggers first
        pieces.append(compressor.compress(zeros))
    path = tmp_path / "bomb.tfrecord.gz"
    path.write_bytes(b"".join(pieces) + compressor.flush())
    tracemalloc.start()
    try:
        with pytest.raises(CorruptRecordError, match="larger than any record"):
            list(read_records(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


def test_garbage_is_a_corrupt_record_error(tmp_path):
    garbages = [os.urandom(100), b"\x1f\x8b" + os.urandom(50), b"\x78\x9c" + os.urandom(50), b"x"]
    for index, garbage in enumerate(garbages):
        path = tmp_path / f"garbage-{index}.tfrecord"
        path.write_bytes(garbage)
        with pytest.raises(CorruptRecordError):
            list(read_records(path))
        with pytest.raises(TfodError):
            count_records(path)


def test_count_records_checks_framing_without_reading_data(tmp_path):
    path, data, starts = small_plain_file(tmp_path)
    damaged = bytearray(data)
    damaged[13] ^= 1  # data byte: not read by count_records
    with open(path, "wb") as out:
        out.write(damaged)
    assert count_records(path) == 3
    damaged[starts[1]] ^= 1  # a length byte: its CRC is checked
    with open(path, "wb") as out:
        out.write(damaged)
    with pytest.raises(CorruptRecordError) as caught:
        count_records(path)
    assert caught.value.record_index == 1


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError):
        list(read_records(tmp_path / "nope.tfrecord"))


# ------------------------------------------------------------------------------------------------- writing
def test_exception_inside_with_leaves_no_file(tmp_path):
    path = tmp_path / "out.tfrecord"
    with pytest.raises(KeyError):
        with RecordWriter(path, "gzip") as writer:
            writer.write(b"partial")
            raise KeyError("boom")
    assert os.listdir(tmp_path) == []


def test_file_appears_only_on_close(tmp_path):
    path = tmp_path / "out.tfrecord"
    writer = RecordWriter(path)
    writer.write(b"x")
    assert not path.exists()
    assert any(TEMP_MARKER in name for name in os.listdir(tmp_path))
    writer.close()
    assert list(read_records(path)) == [b"x"]
    assert os.listdir(tmp_path) == ["out.tfrecord"]
    with pytest.raises(ValueError):
        writer.write(b"after close")


def test_abort_removes_the_temporary_file(tmp_path):
    writer = RecordWriter(tmp_path / "out.tfrecord")
    writer.write(b"x")
    writer.abort()
    assert os.listdir(tmp_path) == []


def test_writer_into_a_zip_member(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        with zipped.open("default.tfrecord", "w") as member:
            writer = RecordWriter.to_stream(member)
            for data in RECORDS:
                writer.write(data)
            writer.close()
    with zipfile.ZipFile(archive) as zipped:
        assert zipped.read("default.tfrecord") == reference_frame(RECORDS)
        with zipped.open("default.tfrecord") as member:
            assert list(read_records(member)) == RECORDS


def test_write_record_to_a_stream():
    stream = io.BytesIO()
    for data in RECORDS:
        write_record(stream, data)
    assert stream.getvalue() == reference_frame(RECORDS)


# ------------------------------------------------------------------------------------------------- shards and sources
def test_shard_names():
    assert shard_names("out/train.tfrecord", 3) == [
        "out/train-00000-of-00003.tfrecord",
        "out/train-00001-of-00003.tfrecord",
        "out/train-00002-of-00003.tfrecord",
    ]
    assert shard_names("train.tfrecord.gz", 1) == ["train-00000-of-00001.tfrecord.gz"]
    assert shard_names("data/train", 2) == ["data/train-00000-of-00002", "data/train-00001-of-00002"]
    assert shard_names("my.data.record", 1) == ["my.data-00000-of-00001.record"]
    assert shard_names("x.tfrecord", 123456)[-1] == "x-123455-of-123456.tfrecord"
    with pytest.raises(UsageError):
        shard_names("x.tfrecord", 0)


def test_sharded_name_reads_the_whole_set_in_order(tmp_path):
    base = tmp_path / "train.tfrecord"
    for index, name in enumerate(shard_names(base, 3)):
        write_file(name, [b"shard %d record %d" % (index, record) for record in range(2)])
    expected = [b"shard %d record %d" % (index, record) for index in range(3) for record in range(2)]
    assert find_shards(base) == shard_names(base, 3)
    assert list(read_records(base)) == expected
    assert list(read_records(str(base) + "@3")) == expected
    assert list(read_records(str(tmp_path / "train-?????-of-00003.tfrecord"))) == expected
    assert list(read_records([shard_names(base, 3)[2], shard_names(base, 3)[0]]))[:2] == expected[4:6]
    assert count_records(base) == 6
    assert find_shards(tmp_path / "other.tfrecord") == []


def test_incomplete_or_ambiguous_shard_sets_are_errors(tmp_path):
    base = tmp_path / "train.tfrecord"
    names = shard_names(base, 3)
    for name in names[:2]:
        write_file(name, [b"x"])
    with pytest.raises(FormatError, match="missing shard"):
        list(read_records(base))
    write_file(names[2], [b"x"])
    write_file(shard_names(base, 2)[0], [b"y"])
    write_file(shard_names(base, 2)[1], [b"y"])
    with pytest.raises(FormatError, match="different sizes"):
        find_shards(base)


def test_glob_that_matches_nothing_is_a_format_error(tmp_path):
    with pytest.raises(FormatError):
        list(read_records(str(tmp_path / "*.tfrecord")))


def test_expand_sources_keeps_order_and_forms(tmp_path):
    a = write_file(tmp_path / "a.tfrecord", [b"a"])
    b = write_file(tmp_path / "b.tfrecord", [b"b"])
    assert expand_sources([b, a]) == [b, a]
    assert expand_sources(str(tmp_path / "*.tfrecord")) == [a, b]
    assert list(read_records([b, a])) == [b"b", b"a"]


def test_fsspec_urls(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    for index, compression in enumerate([None, "gzip"]):
        path = write_file(tmp_path / f"{index}.tfrecord", RECORDS, compression)
        memory.pipe(f"/tfodkit-test/shard-{index:05d}-of-00002.tfrecord", open(path, "rb").read())
    assert list(read_records("memory://tfodkit-test/shard-00000-of-00002.tfrecord")) == RECORDS
    assert list(read_records("memory://tfodkit-test/shard.tfrecord")) == RECORDS * 2
    assert list(read_records("memory://tfodkit-test/*.tfrecord")) == RECORDS * 2
    assert count_records("memory://tfodkit-test/shard.tfrecord") == 2 * len(RECORDS)
    memory.pipe("/tfodkit-test/bad.tfrecord", reference_frame(RECORDS)[:-1])
    with pytest.raises(CorruptRecordError):
        list(read_records("memory://tfodkit-test/bad.tfrecord"))
    memory.rm("/tfodkit-test", recursive=True)
