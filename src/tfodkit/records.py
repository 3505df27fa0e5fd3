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
"""

from __future__ import annotations

import glob as globlib
import io
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Union

from google_crc32c import value as _crc32c

from tfodkit.errors import CorruptRecordError, FormatError, UsageError
from tfodkit.storage import atomic_file, is_url, open_input

if TYPE_CHECKING:
    from tfodkit.spool import SpooledBytes

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[PathLike, Iterable[PathLike]]

_HEADER = struct.Struct("<QI")  # length, masked CRC of the 8 length bytes
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8
_CHUNK = 16 << 20  # records larger than this are read piecewise from streams of unknown size
# A length prefix above this, in a stream whose size is unknown (compressed, remote), is damage, not data: no
# tf.train.Example can be that large (protobuf's limit), and a decompression bomb must not fill the memory.
MAX_STREAM_RECORD_BYTES = 2 << 30
_COMPRESSED_READ = 1 << 20
_GZIP_SUFFIXES = (".gz", ".gzip")
_ZLIB_SUFFIXES = (".zlib", ".zz")
_WINDOW_BITS = {"gzip": 31, "zlib": 15}


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that frames TFRecord lengths and data.

    Example:
        >>> hex(masked_crc32c(b"hello"))
        '0x191c1fbb'
    """
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _normalize_compression(compression: str | None, *, allow_auto: bool) -> str | None:
    """None, "gzip", "zlib" (or "auto"), from TF's spellings too ("GZIP", "ZLIB", "")."""
    name = (compression or "").lower()
    if name in ("", "none"):
        return None
    if name in ("gzip", "zlib") or (allow_auto and name == "auto"):
        return name
    allowed = "None, 'gzip', 'zlib'" + (" or 'auto'" if allow_auto else "")
    raise UsageError(f"unknown compression {compression!r}: use {allowed}")


# ------------------------------------------------------------------------------------------------- writing
def _frame(data: bytes) -> tuple[bytes, bytes]:
    """(header, footer) around ``data``: length, masked CRC of the length; masked CRC of the data."""
    length = _LENGTH.pack(len(data))
    return length + _CRC.pack(masked_crc32c(length)), _CRC.pack(masked_crc32c(data))


def write_record(stream: IO[bytes], data: bytes) -> None:
    """Append one framed (uncompressed) record to a binary stream.

    Example:
        >>> buffer = io.BytesIO()
        >>> write_record(buffer, b"abc")
        >>> list(read_records(io.BytesIO(buffer.getvalue())))
        [b'abc']
    """
    data = bytes(data) if type(data) is not bytes else data
    header, footer = _frame(data)
    stream.write(header)
    stream.write(data)
    stream.write(footer)


class RecordWriter:
    """Write a TFRecord file, byte-identical to ``tf.io.TFRecordWriter`` (plain, ``"gzip"`` or ``"zlib"``).

    ``target`` is a local path — written under a temporary name and renamed into place when the writer is
    closed without an error; an exception inside ``with`` leaves no file — or a binary stream (e.g. a zip
    member opened for writing), which is flushed but not closed.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord.gz")
        >>> with RecordWriter(path, compression="gzip") as writer:
        ...     writer.write(b"first")
        ...     writer.write(b"second")
        >>> list(read_records(path))
        [b'first', b'second']
    """

    def __init__(self, target: PathLike | IO[bytes], compression: str | None = None) -> None:
        self.compression = _normalize_compression(compression, allow_auto=False)
        self.records_written = 0
        self._atomic = None
        if isinstance(target, (str, os.PathLike)):
            if is_url(target):
                raise UsageError(f"cannot write a TFRecord file to a URL ({target}); write locally, then copy")
            self.path: str | None = os.fspath(target)
            self._atomic = atomic_file(target)
            self._stream: IO[bytes] = self._atomic.__enter__()
        else:
            self.path = None
            self._stream = target
        self._compressor = None
        if self.compression is not None:
            # TensorFlow's ZlibOutputBuffer settings: level 6, memLevel 9, window 15 (+16 for the gzip wrapper).
            self._compressor = zlib.compressobj(6, zlib.DEFLATED, _WINDOW_BITS[self.compression], 9)
        self._closed = False

    @classmethod
    def to_stream(cls, stream: IO[bytes], compression: str | None = None) -> RecordWriter:
        """A writer into an open binary stream (the caller closes the stream after closing the writer)."""
        return cls(stream, compression)

    def write(self, data: bytes) -> None:
        """Append one record (``bytes``, ``bytearray`` or ``memoryview``)."""
        if self._closed:
            raise ValueError("write to a closed RecordWriter")
        if type(data) is not bytes:
            data = bytes(data)
        header, footer = _frame(data)
        if self._compressor is None:
            self._stream.write(header)
            self._stream.write(data)
            self._stream.write(footer)
        else:
            compress = self._compressor.compress
            self._stream.write(compress(header) + compress(data) + compress(footer))
        self.records_written += 1

    def write_framed(self, framed: SpooledBytes) -> None:
        """Append one record that a worker already framed (``write_record``) into a spool chunk file.

        Uncompressed, the framed bytes are copied as they are (in the kernel when the target is a file);
        compressed, the record is taken out of its frame and written as by :meth:`write`.
        """
        if self._closed:
            raise ValueError("write to a closed RecordWriter")
        if self._compressor is not None:
            self.write(framed.read()[_HEADER.size : -_CRC.size])
            return
        framed.copy_to(self._stream)
        self.records_written += 1

    def close(self) -> None:
        """Finish the file: flush the compressor, and rename a path target into place."""
        if self._closed:
            return
        self._closed = True
        if self._compressor is not None:
            self._stream.write(self._compressor.flush())
        if self._atomic is not None:
            self._atomic.__exit__(None, None, None)
        else:
            self._stream.flush()

    def abort(self, error: BaseException | None = None) -> None:
        """Give up: a path target's temporary file is removed and no output appears."""
        if self._closed:
            return
        self._closed = True
        if self._atomic is not None:
            error = error or RuntimeError("RecordWriter aborted")
            try:
                self._atomic.__exit__(type(error), error, error.__traceback__)
            except BaseException as raised:  # atomic_file re-raises what it was given; that is expected here
                if raised is not error:
                    raise

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)


# ------------------------------------------------------------------------------------------------- sources
def shard_names(path: PathLike, count: int) -> list[str]:
    """The names of a ``count``-shard set, TF OD API / TFDS / Beam style.

    Example:
        >>> shard_names("out/train.tfrecord", 2)
        ['out/train-00000-of-00002.tfrecord', 'out/train-00001-of-00002.tfrecord']
    """
    if count < 1:
        raise UsageError(f"a sharded set needs at least one shard, not {count}")
    stem, suffix = _split_suffix(os.fspath(path))
    width = max(5, len(str(count)))
    return [f"{stem}-{index:0{width}d}-of-{count:0{width}d}{suffix}" for index in range(count)]


def _name_start(path: str) -> int:
    """Where the last path component of a path or URL begins."""
    return max(path.rfind("/"), path.rfind(os.sep)) + 1


def _split_suffix(path: str) -> tuple[str, str]:
    """("out/train", ".tfrecord.gz") for "out/train.tfrecord.gz": the shard number goes between them."""
    slash = _name_start(path)
    name = path[slash:]
    dot = name.rfind(".")
    if dot <= 0:
        return path, ""
    if name[dot:].lower() in _GZIP_SUFFIXES + _ZLIB_SUFFIXES:
        inner = name.rfind(".", 0, dot)
        if inner > 0:
            dot = inner
    return path[: slash + dot], name[dot:]


def _shard_number(middle: str) -> tuple[int, int] | None:
    """(index, count) of the ``00001-of-00004`` part of a shard name, or None."""
    index, separator, count = middle.partition("-of-")
    if not separator or not index.isdigit() or not count.isdigit() or len(index) < 5 or len(count) < 5:
        return None
    if not index.isascii() or not count.isascii():
        return None
    return int(index), int(count)


def find_shards(path: PathLike) -> list[str]:
    """The files of the sharded set named by ``path`` (``out/train.tfrecord`` -> ``out/train-000NN-of-000MM.tfrecord``),
    in shard order; ``[]`` when there is none. A set with missing shards, or two sets of different sizes, is a
    :class:`FormatError`.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> for name in shard_names(os.path.join(folder, "train.tfrecord"), 2):
        ...     open(name, "wb").close()
        >>> [os.path.basename(name) for name in find_shards(os.path.join(folder, "train.tfrecord"))]
        ['train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord']
    """
    text = os.fspath(path)
    stem, suffix = _split_suffix(text)
    candidates = _glob(globlib.escape(stem) + "-*-of-*" + globlib.escape(suffix))
    folder = stem[: _name_start(stem)]  # kept as the caller wrote it (a URL's glob may spell it otherwise)
    prefix = stem[len(folder) :] + "-"
    by_count: dict[int, dict[int, str]] = {}
    for candidate in candidates:
        name = candidate[_name_start(candidate) :]
        if not name.startswith(prefix) or not name.endswith(suffix):
            continue
        numbers = _shard_number(name[len(prefix) : len(name) - len(suffix)])
        if numbers is not None and numbers[0] < numbers[1]:
            by_count.setdefault(numbers[1], {})[numbers[0]] = folder + name
    if not by_count:
        return []
    if len(by_count) > 1:
        sizes = ", ".join(str(count) for count in sorted(by_count))
        raise FormatError(f"several sharded sets of different sizes ({sizes}); name the files", path=text)
    count, shards = next(iter(by_count.items()))
    missing = [index for index in range(count) if index not in shards]
    if missing:
        listed = ", ".join(str(index) for index in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise FormatError(f"sharded set of {count} is missing shard(s) {listed}", path=text)
    return [shards[index] for index in range(count)]


def _glob(pattern: str) -> list[str]:
    if is_url(pattern):
        import fsspec

        filesystem, _ = fsspec.core.url_to_fs(pattern)
        return sorted(filesystem.unstrip_protocol(match) for match in filesystem.glob(pattern))
    return sorted(globlib.glob(pattern))


def _exists(path: str) -> bool:
    if is_url(path):
        import fsspec

        filesystem, inner = fsspec.core.url_to_fs(path)
        return bool(filesystem.exists(inner))
    return os.path.exists(path)


def expand_sources(source: Source) -> list[str]:
    """The files ``source`` names, in reading order.

    ``source`` is a path or fsspec URL, a glob (``data/*.tfrecord``, ``train-?????-of-00010.tfrecord``), a
    sharded name (``train.tfrecord`` when only ``train-0000N-of-0000M.tfrecord`` exist, or ``train.tfrecord@4``)
    or a list of those. A glob that matches nothing is a :class:`FormatError`.

    Example:
        >>> expand_sources(["a.tfrecord", "b.tfrecord@2"])
        ['a.tfrecord', 'b-00000-of-00002.tfrecord', 'b-00001-of-00002.tfrecord']
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[str] = []
    for item in items:
        text = os.fspath(item)
        name = text[_name_start(text) :]
        at = name.rfind("@")
        if at > 0 and name[at + 1 :].isdigit():
            files.extend(shard_names(text[: len(text) - len(name) + at], int(name[at + 1 :])))
        elif globlib.has_magic(name) or globlib.has_magic(text[: len(text) - len(name)]):
            matches = _glob(text)
            if not matches:
                raise FormatError("no file matches this pattern", path=text)
            files.extend(matches)
        elif _exists(text):
            files.append(text)
        else:
            files.extend(find_shards(text) or [text])  # a missing plain name fails when it is opened
    return files


# ------------------------------------------------------------------------------------------------- reading
def detect_compression(head: bytes, path: str = "") -> str | None:
    """The compression of a TFRecord file from its first bytes (and its name as the last resort).

    A plain file starts with a length whose masked CRC verifies; otherwise the gzip magic (1f 8b) or a valid
    zlib header (CMF/FLG, checked mod 31) decide, then the suffix (``.gz``/``.gzip``, ``.zlib``/``.zz``).

    Example:
        >>> detect_compression(b"\\x1f\\x8b\\x08\\x00"), detect_compression(b"\\x78\\x9c")
        ('gzip', 'zlib')
    """
    if len(head) >= 12:
        length, crc = _HEADER.unpack_from(head)
        if masked_crc32c(head[:8]) == crc:
            return None
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"
    lowered = path.lower()
    if lowered.endswith(_GZIP_SUFFIXES):
        return "gzip"
    if lowered.endswith(_ZLIB_SUFFIXES):
        return "zlib"
    return None


class _Inflater:
    """``read(n)`` over the decompressed bytes of a GZIP (any number of members) or ZLIB stream.

    Decompresses in bounded steps, so memory follows what is asked for, never what a header claims.
    """

    def __init__(self, raw: IO[bytes], compression: str, path: str) -> None:
        self._raw = raw
        self._compression = compression
        self._wbits = _WINDOW_BITS[compression]
        self._path = path
        self._decompressor = zlib.decompressobj(self._wbits)
        self._input = b""
        self._output = bytearray()
        self._in_member = False
        self._finished = False
        self.produced = 0  # decompressed bytes handed out so far

    def _step(self, want: int) -> None:
        if not self._input:
            self._input = self._raw.read(_COMPRESSED_READ)
            if not self._input:
                if self._in_member:
                    raise CorruptRecordError(
                        f"{self._compression} stream ends early (truncated file)",
                        path=self._path,
                        offset=self.produced + len(self._output),
                    )
                self._finished = True
                return
        if not self._in_member and self._compression == "gzip":
            self._input = self._input.lstrip(b"\x00")  # NUL padding between members, as gzip allows
            if not self._input:
                return
        self._in_member = True
        try:
            self._output += self._decompressor.decompress(self._input, max(want, 1 << 16))
        except zlib.error as error:
            raise CorruptRecordError(
                f"bad {self._compression} data ({error})", path=self._path, offset=self.produced + len(self._output)
            ) from None
        if self._decompressor.eof:  # end of a member: another may follow
            self._input = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(self._wbits)
            self._in_member = False
        else:
            self._input = self._decompressor.unconsumed_tail

    def read(self, size: int) -> bytes:
        output = self._output
        while len(output) < size and not self._finished:
            self._step(min(size - len(output), _CHUNK))
        if len(output) <= size:
            data = bytes(output)
            output.clear()
        else:
            data = bytes(memoryview(output)[:size])
            del output[:size]
        self.produced += len(data)
        return data

    def close(self) -> None:
        self._raw.close()


def _read_full(read, size: int, data: bytes = b"") -> bytes:  # type: ignore[no-untyped-def]
    """``data`` completed to ``size`` bytes from ``read`` (fewer only at the end of the stream).

    Sizes above 16 MiB are read piecewise, so a bogus length never allocates more than the stream holds.
    """
    pieces = [data] if data else []
    have = len(data)
    while have < size:
        piece = read(min(size - have, _CHUNK))
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _open_records(path: str, compression: str | None) -> tuple[IO[bytes] | _Inflater, int | None, str | None]:
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
            return _Inflater(raw, compression, path), None, compression
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

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._raw.read(size)
        head, self._head = self._head[:size], self._head[size:]
        return head + self._raw.read(size - len(head)) if size > len(head) else head

    def close(self) -> None:
        self._raw.close()


def _records_of(stream, path: str, size: int | None, compression: str | None, verify: bool) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """The records of one open stream: the hot loop.

    Two reads per record: the data, then its CRC together with the next record's header (16 bytes).
    """
    read = stream.read
    unpack_header = _HEADER.unpack
    unpack_crc = _CRC.unpack_from
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
                f"truncated record header ({len(header)} of 12 bytes){where}", path=path, record_index=index, offset=offset
            )
        length, length_crc = unpack_header(header)
        if verify:
            crc = crc32c(header[:8])
            if (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF != length_crc:
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
        data = read(length) if length <= _CHUNK else _read_full(read, length)
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
            if (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF != unpack_crc(tail)[0]:
                raise CorruptRecordError(f"data CRC mismatch{where}", path=path, record_index=index, offset=offset)
        yield data
        header = tail[4:]
        offset += length + 16
        index += 1


def _stream_name(stream: object) -> str:
    return str(getattr(stream, "name", "<stream>"))


def read_records(
    source: Source | IO[bytes], compression: str | None = "auto", verify: bool = True, *, name: str | None = None
) -> Iterator[bytes]:
    """Yield the data of every record, as ``bytes``, file after file.

    ``source``: a path or fsspec URL, a glob, a sharded name, a list of those (see :func:`expand_sources`), or
    an open binary stream (``name`` then says what errors call it, e.g. ``"a.zip!default.tfrecord"``).
    ``compression``: ``"auto"`` (detect per file), None, ``"gzip"`` or ``"zlib"``. ``verify`` checks both CRCs
    of every record. Damage raises :class:`CorruptRecordError` naming the file, the record index and the
    byte offset of the record.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     writer.write(b"one")
        >>> list(read_records(path))
        [b'one']
    """
    compression = _normalize_compression(compression, allow_auto=True)
    if hasattr(source, "read"):
        yield from _read_stream(source, name or _stream_name(source), compression, verify)  # type: ignore[arg-type]
        return
    for path in expand_sources(source):  # type: ignore[arg-type]
        stream, size, file_compression = _open_records(path, compression)
        try:
            yield from _records_of(stream, path, size, file_compression, verify)
        finally:
            stream.close()


def _read_stream(raw: IO[bytes], name: str, compression: str | None, verify: bool) -> Iterator[bytes]:
    if compression == "auto":
        head = raw.read(12)
        compression = detect_compression(head, name)
        stream: IO[bytes] | _Inflater | _Prefixed = _Prefixed(head, raw)
    else:
        stream = raw
    if compression is not None:
        stream = _Inflater(stream, compression, name)  # type: ignore[arg-type]
    yield from _records_of(stream, name, None, compression, verify)


# ------------------------------------------------------------------------------------------------- scanning
def _scan(path: str, compression: str | None, verify: bool) -> Iterator[tuple[int, int]]:
    """(offset, length) of every record, checking the framing and length CRCs but not reading the data
    of plain files (they are skipped with seek)."""
    stream, size, file_compression = _open_records(path, compression)
    where = " (in the decompressed stream)" if file_compression else ""
    seek = stream.seek if size is not None else None
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
            length, length_crc = _HEADER.unpack(header)
            if verify and masked_crc32c(header[:8]) != length_crc:
                raise CorruptRecordError(
                    f"length CRC mismatch (length field reads {length}){where}", path=path, record_index=index, offset=offset
                )
            if size is not None:
                if length + 4 > size - offset - 12:
                    raise CorruptRecordError(
                        f"length prefix {length} is larger than the {max(0, size - offset - 16)} data bytes that remain",
                        path=path,
                        record_index=index,
                        offset=offset,
                    )
                seek(offset + 16 + length)  # type: ignore[misc]
            else:
                left = length + 4
                while left:
                    piece = stream.read(min(left, _CHUNK))
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
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     for _ in range(3):
        ...         writer.write(b"x")
        >>> count_records(path)
        3
    """
    compression = _normalize_compression(compression, allow_auto=True)
    return sum(1 for path in expand_sources(source) for _ in _scan(path, compression, True))


def record_offsets(path: PathLike, compression: str | None = "auto") -> list[tuple[int, int]]:
    """``(offset, length)`` of every record of one file: the byte offset of its header (in the decompressed
    stream for GZIP/ZLIB files) and its data length.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with RecordWriter(path) as writer:
        ...     writer.write(b"abc")
        ...     writer.write(b"de")
        >>> record_offsets(path)
        [(0, 3), (19, 2)]
    """
    compression = _normalize_compression(compression, allow_auto=True)
    return list(_scan(os.fspath(path), compression, True))


__all__ = [
    "RecordWriter",
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
