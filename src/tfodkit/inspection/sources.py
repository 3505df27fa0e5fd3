"""Where the records of a TFRecord-shaped input are: files, shards and CVAT zip members, and their label map.

``info``, ``stats`` and ``validate`` read TFRecord inputs record by record (fast, and they can see what a
reader would smooth over); every other format goes through :func:`tfodkit.pipeline.read_dataset`.

Example:
    >>> import tempfile, os
    >>> from tfodkit.records import RecordWriter
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tfrecord")
    >>> with RecordWriter(path) as writer:
    ...     writer.write(b"x")
    >>> [(source.subset, source.size) for source in record_sources(path)]
    [('train', 17)]
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from tfodkit.archive import open_member, open_zip, safe_members
from tfodkit.errors import FormatError
from tfodkit.formats import detect_format, tfod_files
from tfodkit.labelmap import read_label_map
from tfodkit.model import LabelMap
from tfodkit.records import detect_compression, read_records
from tfodkit.records.inflate import inflate_into
from tfodkit.storage import is_url, open_input

RECORD_FORMATS = ("tfrecord", "cvat-tfrecord")


@dataclass(frozen=True)
class RecordSource:
    """One stream of records: a file (``path`` set) or a zip member (``path`` None, ``where`` = ``a.zip!m``)."""

    where: str
    subset: str
    size: int
    opener: Callable[[], IO[bytes]]
    path: str | None = None

    def open(self) -> IO[bytes]:
        return self.opener()

    def records(self) -> Iterator[bytes]:
        """The record data, CRCs checked; damage raises :class:`~tfodkit.errors.CorruptRecordError`."""
        if self.path is not None:
            return read_records(self.path)
        return _records_of_stream(self)

    def records_between(self, start: int, stop: int) -> Iterator[bytes]:
        """The records of the plain file between byte offsets ``start`` and ``stop`` (record boundaries)."""
        assert self.path is not None
        with open_input(self.path) as stream:
            stream.seek(start)
            yield from read_records(_Window(stream, stop - start, self.where), compression=None)  # type: ignore[arg-type]

    def compression(self) -> str | None:
        with self.open() as stream:
            return detect_compression(stream.read(12), self.where)


class _Window:
    """The next ``size`` bytes of a stream, as a stream."""

    def __init__(self, stream: IO[bytes], size: int, name: str) -> None:
        self._stream = stream
        self._left = size
        self.name = name

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        return data


def _records_of_stream(source: RecordSource) -> Iterator[bytes]:
    with source.open() as stream:
        stream.name = source.where  # type: ignore[misc]  # read_records names errors after the stream
        yield from read_records(stream)


def resolve_format(path: str, format_name: str | None) -> str:
    """The format of ``path``: ``format_name`` when given, else the detected one."""
    return format_name or detect_format(path)


def is_record_input(path: str, format_name: str | None) -> bool:
    """True when ``path`` (in ``format_name``, detected when None) is TFRecord files or a CVAT TFRecord zip."""
    return resolve_format(path, format_name) in RECORD_FORMATS


def record_sources(path: str) -> list[RecordSource]:
    """The record streams of a ``.tfrecord`` file / folder / glob / shard set, or of a CVAT TFRecord zip."""
    path = str(path)
    if path.lower().endswith(".zip") and os.path.isfile(path):
        return _zip_sources(path)
    sources = []
    for subset, files in tfod_files.record_files(path):
        for file in files:
            size = _file_size(file)
            sources.append(RecordSource(file, subset, size, _FileOpener(file), path=file))
    return sources


def _file_size(path: str) -> int:
    if is_url(path):
        import fsspec

        filesystem, inner = fsspec.core.url_to_fs(path)
        return int(filesystem.size(inner))
    try:
        return os.path.getsize(path)
    except OSError as error:
        raise FormatError(f"cannot read the file: {error.strerror}", path=path) from None


@dataclass(frozen=True)
class _FileOpener:
    path: str

    def __call__(self) -> IO[bytes]:
        return open_input(self.path)


@dataclass(frozen=True)
class _MemberOpener:
    archive_path: str
    member: str

    def __call__(self) -> IO[bytes]:
        archive = open_zip(self.archive_path)
        stream = open_member(archive, archive.getinfo(self.member), self.archive_path)
        return _ClosingStream(stream, archive)  # type: ignore[return-value]


class _ClosingStream:
    """A member stream that also closes its archive."""

    def __init__(self, stream: object, archive: object) -> None:
        self._stream = stream
        self._archive = archive
        self.name = ""

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._stream.close()  # type: ignore[attr-defined]
        self._archive.close()  # type: ignore[attr-defined]

    def __enter__(self) -> _ClosingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _zip_sources(path: str) -> list[RecordSource]:
    from tfodkit.formats import (
        cvat_zip,
    )  # the CVAT zip format (and what it imports) only for a zip: tfod info starts fast

    with open_zip(path) as archive:
        members = safe_members(archive, path)
    record_members = cvat_zip.record_members(members, path)
    return [
        RecordSource(
            f"{path}!{member.filename}",
            tfod_files.subset_of(member.filename),
            member.file_size,
            _MemberOpener(path, member.filename),
        )
        for member in record_members
    ]


def find_label_map_for(path: str, label_map: str | None = None) -> tuple[LabelMap | None, str | None]:
    """(label map, where it came from) for a record input: ``label_map`` when given, else the one beside the
    records (``label_map.pbtxt``) or inside the CVAT zip; (None, None) when there is none."""
    if label_map is not None:
        return read_label_map(label_map), label_map
    path = str(path)
    if path.lower().endswith(".zip") and os.path.isfile(path):
        with open_zip(path) as archive:
            from tfodkit.formats import cvat_zip

            in_zip = cvat_zip.archive_label_map(archive, safe_members(archive, path), path)
        return in_zip if in_zip else (None, None)
    if is_url(path):
        return None, None
    groups = tfod_files.record_files(path)
    folder = os.path.dirname(groups[0][1][0]) or "."
    found = tfod_files.find_label_map(folder)
    return (read_label_map(found), found) if found else (None, None)


# ------------------------------------------------------------------------------------------ raw framed bytes
@dataclass
class FramedBytes:
    """The uncompressed framed bytes of one source, for scanning: ``buffer`` supports ``len`` and slicing.

    ``stream_error`` says why decompression stopped early (a damaged or truncated GZIP/ZLIB stream), with
    ``stream_error_offset`` the compressed byte where it did; the bytes decompressed before are in ``buffer``.
    """

    buffer: mmap.mmap | bytes
    compression: str | None
    stream_error: str | None = None
    stream_error_offset: int | None = None


@contextlib.contextmanager
def framed_bytes(source: RecordSource) -> Iterator[FramedBytes]:
    """Map ``source``'s framed bytes into memory without reading them all: a plain local file is mmapped;
    a compressed file or a zip member is first decompressed into a temporary file (then mmapped)."""
    compression = source.compression()
    if source.path is not None and compression is None and not is_url(source.path):
        with open(source.path, "rb") as file:
            with _mapped(file) as buffer:
                yield FramedBytes(buffer, None)
        return
    with tempfile.TemporaryFile(prefix="tfodkit-scan-") as spool:
        with source.open() as stream:
            error, error_offset = _spool(stream, spool, compression)
        spool.flush()
        with _mapped(spool) as buffer:
            yield FramedBytes(buffer, compression, error, error_offset)


@contextlib.contextmanager
def _mapped(file: IO[bytes]) -> Iterator[mmap.mmap | bytes]:
    size = os.fstat(file.fileno()).st_size
    if size == 0:  # mmap refuses empty files
        yield b""
        return
    buffer = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield buffer
    finally:
        buffer.close()


def _spool(stream: IO[bytes], out: IO[bytes], compression: str | None) -> tuple[str | None, int | None]:
    """Copy ``stream`` to ``out``, decompressing GZIP (every member) or ZLIB; stop at damage and say where."""
    return inflate_into(stream, out, compression)
