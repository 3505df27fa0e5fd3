"""Reading TFRecord files: every record with both CRCs checked, plain, GZIP (multi-member too) or ZLIB.

A length prefix is checked against the bytes that remain before anything is allocated (for a compressed or
remote stream, whose size is unknown, it is capped at 2 GiB and the data is read in 16 MiB pieces). Damage
raises :class:`~tfodkit.errors.CorruptRecordError` (file, record index, byte offset).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import IO, cast

from google_crc32c import value as _crc32c

from tfodkit.errors import CorruptRecordError, FormatError
from tfodkit.records.framing import (
    CHUNK,
    CRC,
    HEADER,
    MASK_DELTA,
    MAX_STREAM_RECORD_BYTES,
    detect_compression,
    masked_crc32c,
    normalize_compression,
)
from tfodkit.records.inflate import Inflater, Readable
from tfodkit.records.shards import PathLike, Source, expand_sources
from tfodkit.storage import is_url, open_input


def _read_full(read: Callable[[int], bytes], size: int, data: bytes = b"") -> bytes:
    """``data`` completed to ``size`` bytes from ``read`` (fewer only at the end of the stream).

    Sizes above 16 MiB are read piecewise, so a bogus length never allocates more than the stream holds.
    """
    pieces = [data] if data else []
    have = len(data)
    while have < size:
        piece = read(min(size - have, CHUNK))
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _open_records(path: str, compression: str | None) -> tuple[IO[bytes] | Inflater, int | None, str | None]:
    """(stream, size of a plain stream when known, compression) for one file."""
    raw = _open_local(path) if not is_url(path) else open_input(path)
    try:
        if compression == "auto":
            head = raw.read(12)
            compression = detect_compression(head, path)
            try:
                raw.seek(0)
            except (OSError, io.UnsupportedOperation):
                raw = _Prefixed(head, raw)  # type: ignore[assignment]
        if compression is not None:
            return Inflater(raw, compression, path), None, compression
        return raw, _size_of(raw), None
    except BaseException:
        raw.close()
        raise


def _open_local(path: str) -> IO[bytes]:
    """An unbuffered local file: the reader asks for whole records, so a buffer would only add a copy."""
    try:
        stream = open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise FormatError("file not found", path=path) from None
    except IsADirectoryError:
        raise FormatError("expected a TFRecord file, found a directory", path=path) from None
    if hasattr(os, "posix_fadvise"):  # read front to back: ask the kernel for a larger read-ahead
        try:
            os.posix_fadvise(stream.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except OSError:
            pass
    return stream


def _size_of(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        size = getattr(stream, "size", None)
        return size if isinstance(size, int) else None


class _Prefixed:
    """A stream that could not seek back: the bytes already read, then the rest."""

    def __init__(self, head: bytes, raw: Readable) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._raw.read(size)
        head, self._head = self._head[:size], self._head[size:]
        return head + self._raw.read(size - len(head)) if size > len(head) else head

    def close(self) -> None:
        self._raw.close()


def _records_of(
    stream: Readable, path: str, size: int | None, compression: str | None, verify: bool
) -> Iterator[bytes]:
    """The records of one open stream: the hot loop.

    Two reads per record: the data, then its CRC together with the next record's header (16 bytes).
    """
    read = stream.read
    unpack_header = HEADER.unpack
    unpack_crc = CRC.unpack_from
    crc32c = _crc32c
    where = " (in the decompressed stream)" if compression else ""
    offset = 0
    index = 0
    header = read(12)
    if 0 < len(header) < 12:
        header = _read_full(read, 12, header)
    while True:
        if len(header) < 12:
            if not header:
                return
            raise CorruptRecordError(
                f"truncated record header ({len(header)} of 12 bytes){where}",
                path=path,
                record_index=index,
                offset=offset,
            )
        length, length_crc = unpack_header(header)
        if verify:
            crc = crc32c(header[:8])
            if (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF != length_crc:
                raise CorruptRecordError(
                    f"length CRC mismatch (length field reads {length}){where}",
                    path=path,
                    record_index=index,
                    offset=offset,
                )
        if size is not None and length + 4 > size - offset - 12:
            raise CorruptRecordError(
                f"length prefix {length} is larger than the {max(0, size - offset - 16)} data bytes that remain "
                "(truncated or corrupt file)",
                path=path,
                record_index=index,
                offset=offset,
            )
        if size is None and length > MAX_STREAM_RECORD_BYTES:
            raise CorruptRecordError(
                f"length prefix {length} is larger than any record can be ({MAX_STREAM_RECORD_BYTES} bytes){where}",
                path=path,
                record_index=index,
                offset=offset,
            )
        data = read(length) if length <= CHUNK else _read_full(read, length)
        if len(data) < length:
            data = _read_full(read, length, data)
        tail = read(16)  # this record's data CRC and the next record's header
        if len(tail) < 16:
            tail = _read_full(read, 16, tail)
        if len(data) < length or len(tail) < 4:
            raise CorruptRecordError(
                f"truncated record: {length} data bytes announced, {len(data)} present{where}",
                path=path,
                record_index=index,
                offset=offset,
            )
        if verify:
            crc = crc32c(data)
            if (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF != unpack_crc(tail)[0]:
                raise CorruptRecordError(f"data CRC mismatch{where}", path=path, record_index=index, offset=offset)
        yield data
        header = tail[4:]
        offset += length + 16
        index += 1


def _stream_name(stream: object) -> str:
    return str(getattr(stream, "name", "<stream>"))


def read_records(
    source: Source | Readable, compression: str | None = "auto", verify: bool = True, *, name: str | None = None
) -> Iterator[bytes]:
    """Yield the data of every record, as ``bytes``, file after file.

    ``source``: a path or fsspec URL, a glob, a sharded name, a list of those (see :func:`expand_sources`), or
    an open binary stream (``name`` then says what errors call it, e.g. ``"a.zip!default.tfrecord"``).
    ``compression``: ``"auto"`` (detect per file), None, ``"gzip"`` or ``"zlib"``. ``verify`` checks both CRCs
    of every record. Damage raises :class:`CorruptRecordError` naming the file, the record index and the
    byte offset of the record.

    Example:
        >>> import tempfile, os
        >>> from tfodkit.records import RecordWriter
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     writer.write(b"one")
        >>> list(read_records(path))
        [b'one']
    """
    compression = normalize_compression(compression, allow_auto=True)
    if not isinstance(source, (str, os.PathLike)) and hasattr(source, "read"):
        opened = cast(Readable, source)  # the check above: a stream, not a path
        yield from _read_stream(opened, name or _stream_name(opened), compression, verify)
        return
    for path in expand_sources(source):
        stream, size, file_compression = _open_records(path, compression)
        try:
            yield from _records_of(stream, path, size, file_compression, verify)
        finally:
            stream.close()


def _read_stream(raw: Readable, name: str, compression: str | None, verify: bool) -> Iterator[bytes]:
    if compression == "auto":
        head = raw.read(12)
        compression = detect_compression(head, name)
        stream: Readable = _Prefixed(head, raw)
    else:
        stream = raw
    if compression is not None:
        stream = Inflater(stream, compression, name)
    yield from _records_of(stream, name, None, compression, verify)


# ------------------------------------------------------------------------------------------------- scanning
def _scan(path: str, compression: str | None, verify: bool) -> Iterator[tuple[int, int]]:
    """(offset, length) of every record, checking the framing and length CRCs but not reading the data
    of plain files (they are skipped with seek)."""
    stream, size, file_compression = _open_records(path, compression)
    where = " (in the decompressed stream)" if file_compression else ""
    seek = stream.seek if size is not None and not isinstance(stream, Inflater) else None
    try:
        offset = 0
        index = 0
        while True:
            header = stream.read(12)
            if len(header) < 12:
                if not header:
                    return
                raise CorruptRecordError(
                    f"truncated record header ({len(header)} of 12 bytes){where}",
                    path=path,
                    record_index=index,
                    offset=offset,
                )
            length, length_crc = HEADER.unpack(header)
            if verify and masked_crc32c(header[:8]) != length_crc:
                raise CorruptRecordError(
                    f"length CRC mismatch (length field reads {length}){where}",
                    path=path,
                    record_index=index,
                    offset=offset,
                )
            if size is not None:
                if length + 4 > size - offset - 12:
                    raise CorruptRecordError(
                        f"length prefix {length} is larger than the {max(0, size - offset - 16)} data bytes "
                        "that remain",
                        path=path,
                        record_index=index,
                        offset=offset,
                    )
                seek(offset + 16 + length)  # type: ignore[misc]
            else:
                left = length + 4
                while left:
                    piece = stream.read(min(left, CHUNK))
                    if not piece:
                        raise CorruptRecordError(
                            f"truncated record: {length} data bytes announced{where}",
                            path=path,
                            record_index=index,
                            offset=offset,
                        )
                    left -= len(piece)
            yield offset, length
            offset += length + 16
            index += 1
    finally:
        stream.close()


def count_records(source: Source, compression: str | None = "auto") -> int:
    """The number of records, fast: plain files are walked header to header (length CRCs checked, data skipped).

    Example:
        >>> import tempfile, os
        >>> from tfodkit.records import RecordWriter
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     for _ in range(3):
        ...         writer.write(b"x")
        >>> count_records(path)
        3
    """
    compression = normalize_compression(compression, allow_auto=True)
    return sum(1 for path in expand_sources(source) for _ in _scan(path, compression, True))


def record_offsets(path: PathLike, compression: str | None = "auto") -> list[tuple[int, int]]:
    """``(offset, length)`` of every record of one file: the byte offset of its header (in the decompressed
    stream for GZIP/ZLIB files) and its data length.

    Example:
        >>> import tempfile, os
        >>> from tfodkit.records import RecordWriter
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     writer.write(b"abc")
        ...     writer.write(b"de")
        >>> record_offsets(path)
        [(0, 3), (19, 2)]
    """
    compression = normalize_compression(compression, allow_auto=True)
    return list(_scan(os.fspath(path), compression, True))
