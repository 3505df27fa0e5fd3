"""Walk the framing of a TFRecord byte buffer and resynchronise after damage.

A record is intact when its length CRC and its data CRC both verify. After damage (a bad CRC, a length that
runs past the end, a truncated tail) the scan moves on byte by byte to the next position where a whole record
verifies — both CRCs — and carries on from there. The byte range in between is reported as lost, with the
number of record headers seen in it (at least one record started there).

A random position passes both 32-bit CRC checks with odds of about 2**-64, so a resync point is a real record.
A numpy pre-filter keeps the byte-by-byte search fast: only positions whose 8-byte length fits in the bytes
that remain are CRC-checked.

Example:
    >>> import io
    >>> from tfodkit.records import write_record
    >>> out = io.BytesIO()
    >>> for data in (b"one", b"two", b"three"):
    ...     write_record(out, data)
    >>> damaged = bytearray(out.getvalue())
    >>> damaged[21] ^= 0xFF  # a byte of the second record's data
    >>> [(type(event).__name__, getattr(event, "data", None)) for event in scan_records(bytes(damaged))]
    [('IntactRecord', b'one'), ('DamagedRange', None), ('IntactRecord', b'three')]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tfodkit.records import masked_crc32c

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_FRAMING = 16  # 8 length + 4 length CRC + 4 data CRC
_SEARCH_CHUNK = 1 << 20  # candidate positions examined per numpy pass


class Buffer(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> bytes: ...


@dataclass(frozen=True)
class IntactRecord:
    """A record whose CRCs verify: its index among intact records, the offset of its header, its data."""

    index: int
    offset: int
    data: bytes


@dataclass(frozen=True)
class DamagedRange:
    """Bytes ``[start, end)`` that hold no intact record; ``record_starts`` headers verified inside it
    (records whose data is damaged). At least ``records_lost`` records were lost there."""

    start: int
    end: int
    record_starts: int

    @property
    def records_lost(self) -> int:
        return max(1, self.record_starts)

    @property
    def size(self) -> int:
        return self.end - self.start


ScanEvent = IntactRecord | DamagedRange


def _header_length(buffer: Buffer, position: int, size: int) -> int | None:
    """The data length announced at ``position`` when its length CRC verifies and it fits, else None."""
    if size - position < _FRAMING:
        return None
    length, length_crc = _HEADER.unpack(buffer[position : position + 12])
    if masked_crc32c(buffer[position : position + 8]) != length_crc:
        return None
    if length > size - position - _FRAMING:
        return None
    return length


def _record_at(buffer: Buffer, position: int, size: int) -> tuple[bool, bytes | None]:
    """(header verified, data when the whole record verifies) at ``position``."""
    length = _header_length(buffer, position, size)
    if length is None:
        return False, None
    data_end = position + 12 + length
    data = buffer[position + 12 : data_end]
    if masked_crc32c(data) != _CRC.unpack(buffer[data_end : data_end + 4])[0]:
        return True, None
    return True, data


def _candidates(buffer: Buffer, start: int, stop: int, size: int) -> np.ndarray:
    """Positions in ``[start, stop)`` whose little-endian 8-byte length fits in the bytes after them."""
    window = np.frombuffer(buffer[start : stop + 7], dtype=np.uint8)
    count = stop - start
    lengths = np.zeros(count, dtype=np.uint64)
    for byte in range(8):
        lengths |= window[byte : byte + count].astype(np.uint64) << np.uint64(8 * byte)
    room = (size - _FRAMING - start) - np.arange(count, dtype=np.int64)  # data bytes that fit after each position
    fits = lengths <= room.astype(np.uint64)
    return start + np.flatnonzero(fits)


def _resync(buffer: Buffer, start: int, size: int) -> tuple[int, bytes | None, int]:
    """(position, data, headers seen) of the first intact record at or after ``start``; (size, None, n) if none."""
    headers_seen = 0
    last_candidate = size - _FRAMING  # the last position a record can start at
    chunk_start = start
    while chunk_start <= last_candidate:
        chunk_stop = min(chunk_start + _SEARCH_CHUNK, last_candidate + 1)
        for position in _candidates(buffer, chunk_start, chunk_stop, size).tolist():
            header_ok, data = _record_at(buffer, position, size)
            if data is not None:
                return position, data, headers_seen
            headers_seen += header_ok
        chunk_start = chunk_stop
    return size, None, headers_seen


def scan_records(buffer: Buffer) -> Iterator[ScanEvent]:
    """Every intact record and every damaged range of ``buffer`` (bytes or an mmap), in file order.

    The ranges and records tile the buffer exactly: each byte is in one record or one damaged range.
    """
    size = len(buffer)
    position = 0
    index = 0
    while position < size:
        header_ok, data = _record_at(buffer, position, size)
        if data is None:
            next_position, data, headers_seen = _resync(buffer, position + 1, size)
            yield DamagedRange(position, next_position, headers_seen + header_ok)
            position = next_position
            if data is None:
                break
        yield IntactRecord(index, position, data)
        index += 1
        position += _FRAMING + len(data)
