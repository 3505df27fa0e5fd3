"""The one GZIP/ZLIB stream reader (tfodkit.records.inflate), as records and the inspect tools use it."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from tfodkit.errors import CorruptRecordError
from tfodkit.records import RecordWriter, read_records
from tfodkit.records.inflate import Inflater, inflate_into

PAYLOAD = bytes(range(256)) * 40 + os.urandom(5000)  # compressible and incompressible parts


def read_all(inflater: Inflater, step: int) -> bytes:
    return b"".join(iter(lambda: inflater.read(step), b""))


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_multi_member_gzip_with_padding_reads_every_member(step: int) -> None:
    stream = gzip.compress(PAYLOAD[:3000]) + b"\0" * 5 + gzip.compress(PAYLOAD[3000:]) + gzip.compress(b"")
    assert read_all(Inflater(io.BytesIO(stream), "gzip", "a.gz"), step) == PAYLOAD


def test_zlib_stream_reads_whole() -> None:
    stream = zlib.compress(PAYLOAD, 9)
    inflater = Inflater(io.BytesIO(stream), "zlib", "a.zlib")
    assert read_all(inflater, 1000) == PAYLOAD
    assert inflater.consumed == len(stream) and inflater.produced == len(PAYLOAD)


def test_bounded_steps_never_inflate_more_than_asked() -> None:
    """A 50 MB run of zeros compresses to ~50 KB: asking for 10 bytes must not decompress it all."""
    inflater = Inflater(io.BytesIO(gzip.compress(bytes(50 << 20))), "gzip", "bomb.gz")
    assert inflater.read(10) == bytes(10)
    assert len(inflater._output) <= 1 << 17


def test_truncated_stream_hands_out_what_it_had_then_raises() -> None:
    whole = zlib.compress(PAYLOAD)
    inflater = Inflater(io.BytesIO(whole[: len(whole) // 2]), "zlib", "cut.zlib")
    got = bytearray()
    with pytest.raises(CorruptRecordError, match="zlib stream ends early") as caught:
        while piece := inflater.read(997):
            got += piece
    assert caught.value.path == "cut.zlib" and caught.value.offset == len(got)
    assert 0 < len(got) < len(PAYLOAD) and PAYLOAD.startswith(bytes(got))


def test_bad_data_in_second_member_keeps_the_first_and_names_the_compressed_byte() -> None:
    first = gzip.compress(PAYLOAD[:2000])
    damaged = bytearray(gzip.compress(PAYLOAD[2000:]))
    damaged[12:40] = b"\xff" * 28  # deflate blocks of the second member
    out = io.BytesIO()
    error, offset = inflate_into(io.BytesIO(first + bytes(damaged)), out, "gzip")
    assert error is not None and error.startswith("bad gzip data")
    assert offset == len(first)
    assert out.getvalue() == PAYLOAD[:2000]


def test_inflate_into_copies_plain_and_decompresses_whole() -> None:
    out = io.BytesIO()
    assert inflate_into(io.BytesIO(PAYLOAD), out, None) == (None, None) and out.getvalue() == PAYLOAD
    out = io.BytesIO()
    assert inflate_into(io.BytesIO(gzip.compress(PAYLOAD) * 2), out, "gzip") == (None, None)
    assert out.getvalue() == PAYLOAD * 2


def test_records_before_damage_are_read_from_a_cut_gzip_file(tmp_path) -> None:
    path = tmp_path / "a.tfrecord.gz"
    records = [os.urandom(3000) for _ in range(20)]
    with RecordWriter(path, compression="gzip") as writer:
        for record in records:
            writer.write(record)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    got = []
    with pytest.raises(CorruptRecordError) as caught:
        for record in read_records(str(path)):
            got.append(record)
    assert got == records[: len(got)] and 5 < len(got) < 20
    assert caught.value.path == str(path)
