"""The TFRecord container: framing, CRC-32C, GZIP/ZLIB, shard names. No TensorFlow.

A file is a sequence of records::

    uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

with ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2**32)``. A GZIP or ZLIB file is that same
byte stream compressed as a whole. :class:`RecordWriter` writes the exact bytes ``tf.io.TFRecordWriter``
writes (plain, GZIP and ZLIB); :func:`read_records` reads plain, GZIP (multi-member too) and ZLIB files,
checks every CRC, and raises :class:`~tfodkit.errors.CorruptRecordError` (file, record index, byte offset)
for any damage. A length prefix is checked against the bytes that remain before anything is allocated (for a
compressed or remote stream, whose size is unknown, it is capped at 2 GiB and the data is read in 16 MiB pieces).
Records are returned as ``bytes``.

Sharded sets are named ``NAME-00000-of-00004.tfrecord`` (TF OD API, TFDS and Beam use that pattern);
``read_records("train.tfrecord")`` reads the whole set when only the shards exist.

One job per module: :mod:`~tfodkit.records.framing` (the frame, CRCs, compression names),
:mod:`~tfodkit.records.inflate` (the one GZIP/ZLIB stream reader), :mod:`~tfodkit.records.reading`,
:mod:`~tfodkit.records.writing` and :mod:`~tfodkit.records.shards` (shard names and sources).

Example:
    >>> import io
    >>> buffer = io.BytesIO()
    >>> write_record(buffer, b"abc")
    >>> list(read_records(io.BytesIO(buffer.getvalue())))
    [b'abc']
"""

from __future__ import annotations

from tfodkit.records.framing import MAX_STREAM_RECORD_BYTES, detect_compression, masked_crc32c
from tfodkit.records.reading import count_records, read_records, record_offsets
from tfodkit.records.shards import PathLike, Source, expand_sources, find_shards, shard_names
from tfodkit.records.writing import RecordWriter, write_record

__all__ = [
    "MAX_STREAM_RECORD_BYTES",
    "PathLike",
    "RecordWriter",
    "Source",
    "count_records",
    "detect_compression",
    "expand_sources",
    "find_shards",
    "masked_crc32c",
    "read_records",
    "record_offsets",
    "shard_names",
    "write_record",
]
