"""Fuzz the TFRecord container reader: framing, CRCs, GZIP/ZLIB, files and streams.

The first input byte picks the mode: compression argument, CRC checks on or off, a file (size known: the
length-prefix check before allocation) or a stream, whether the rest is compressed first (so the inflater
sees valid deflate streams around fuzzed records), and whether its CRCs are repaired first (so the fuzzer
gets past the CRC checks and exercises length handling). Properties when a read succeeds: a plain,
CRC-checked read rewrites byte for byte, and ``count_records`` agrees.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir

with instrumented(running_under_atheris(__name__)):
    from tfodkit.records import RecordWriter, count_records, detect_compression, masked_crc32c, read_records

COMPRESSIONS = ("auto", None, "gzip", "zlib")
_SCRATCH: list[str] = []


def repair_crcs(data: bytes) -> bytes:
    """``data`` with the CRC fields of every record it frames recomputed (lengths and payloads untouched)."""
    out = bytearray(data)
    pos = 0
    while pos + 12 <= len(out):
        (length,) = struct.unpack_from("<Q", out, pos)
        struct.pack_into("<I", out, pos + 8, masked_crc32c(bytes(out[pos : pos + 8])))
        start = pos + 12
        stop = min(start + length, len(out))
        if stop + 4 <= len(out):
            struct.pack_into("<I", out, stop, masked_crc32c(bytes(out[start:stop])))
        pos = stop + 4
    return bytes(out)


def _file(data: bytes, suffix: str) -> str:
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
    path = os.path.join(_SCRATCH[0], "input" + suffix)
    with open(path, "wb") as out:
        out.write(data)
    return path


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0], data[1:]
    compression = COMPRESSIONS[mode & 3]
    verify = not mode & 4
    as_file = bool(mode & 8)
    if mode & 16:
        body = repair_crcs(body)
    wrapped = (mode >> 5) & 3  # 0 plain, 1 gzip, 2 zlib, 3 plain
    if wrapped in (1, 2):
        packer = zlib.compressobj(6, zlib.DEFLATED, 31 if wrapped == 1 else 15, 9)
        body = packer.compress(body) + packer.flush()
    if as_file:
        path = _file(body, (".tfrecord", ".tfrecord.gz", ".tfrecord.zlib", ".record")[wrapped])
        records = list(read_records(path, compression=compression, verify=verify))
        if records and verify:
            if count_records(path, compression=compression) != len(records):
                raise AssertionError("count_records disagrees with read_records")
    else:
        records = list(read_records(io.BytesIO(body), compression=compression, verify=verify))
    read_plain = compression is None or (compression == "auto" and detect_compression(body[:12]) is None)
    if verify and wrapped in (0, 3) and read_plain and records:
        rewritten = io.BytesIO()
        with RecordWriter.to_stream(rewritten) as writer:
            for record in records:
                writer.write(record)
        if rewritten.getvalue() != body:
            raise AssertionError("a checked plain read does not rewrite to the same bytes")


def seeds() -> list[bytes]:
    """Small valid files in each mode: several records, an empty record, an empty file."""
    plain = io.BytesIO()
    with RecordWriter.to_stream(plain) as writer:
        for record in (b"first", b"", bytes(range(200)), b"x" * 300):
            writer.write(record)
    body = plain.getvalue()
    out = [bytes([mode]) + body for mode in (0, 1, 8, 9, 16, 24, 32, 66, 96 + 8)]
    for compression in ("gzip", "zlib"):
        packed = io.BytesIO()
        with RecordWriter.to_stream(packed, compression=compression) as writer:
            writer.write(b"one record")
        out.append(bytes([0]) + packed.getvalue())
        out.append(bytes([8]) + packed.getvalue())
    out.append(b"\x00")
    return out


if __name__ == "__main__":
    fuzz_main(test_one_input)
