"""Reading zip archives from strangers safely: member names checked, sizes bounded, nothing extracted.

A member whose name is absolute, climbs out with ``..``, is a symlink, or repeats another name is refused
with :class:`UnsafeArchiveError`; so is an archive whose members declare more than ``max_total_bytes`` or
compress better than ``max_ratio`` (a zip bomb); both limits are configurable (see below). Members are read
as streams, and a stream that yields more than its declared size is cut off.
"""

from __future__ import annotations

import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

from tfodkit.errors import FormatError, UnsafeArchiveError
from tfodkit.storage import is_url, open_input

# The limits, configurable: per call (safe_members' keywords), per process (assign these module attributes; they
# are read at each call) or from the environment (TFODKIT_MAX_UNPACKED_BYTES, TFODKIT_MAX_COMPRESSION_RATIO),
# which is how a server running `tfod` on uploads tightens them.
DEFAULT_MAX_TOTAL_BYTES = int(os.environ.get("TFODKIT_MAX_UNPACKED_BYTES", 1 << 40))  # 1 TiB: far above real datasets
DEFAULT_MAX_RATIO = float(os.environ.get("TFODKIT_MAX_COMPRESSION_RATIO", 1000))  # deflate's best is ~1030:1


def open_zip(path: str) -> zipfile.ZipFile:
    """Open ``path`` (a local path or an fsspec URL) as a zip, or raise :class:`FormatError` naming it."""
    try:
        if is_url(path):  # remote archives are read with range requests, never downloaded whole
            return zipfile.ZipFile(open_input(path))
        return zipfile.ZipFile(path)
    # zipfile also raises NotImplementedError (zip version 6.8), ValueError/UnicodeDecodeError, EOFError (fuzz_zip)
    except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError, EOFError) as error:
        raise FormatError(f"not a readable zip archive: {error}", path=path) from None


def safe_members(
    archive: zipfile.ZipFile,
    where: str,
    *,
    max_total_bytes: int | None = None,
    max_ratio: float | None = None,
) -> list[zipfile.ZipInfo]:
    """The archive's file members, after checking every name and the declared sizes.

    Example:
        >>> import io
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as archive:
        ...     archive.writestr("../evil.txt", b"x")
        >>> safe_members(zipfile.ZipFile(buffer), "upload.zip")
        Traceback (most recent call last):
        ...
        tfodkit.errors.UnsafeArchiveError: upload.zip: member '../evil.txt' points outside the archive
    """
    max_total_bytes = DEFAULT_MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes
    max_ratio = DEFAULT_MAX_RATIO if max_ratio is None else max_ratio
    seen: set[str] = set()
    total = 0
    members = []
    for info in archive.infolist():
        name = info.filename
        if not name:  # zipfile's own is_dir() fails on it (found by fuzz/fuzz_zip.py)
            raise UnsafeArchiveError("a member has an empty name", path=where)
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (path.parts and path.parts[0].endswith(":")):
            raise UnsafeArchiveError(f"member {name!r} points outside the archive", path=where)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(f"member {name!r} is a symbolic link", path=where)
        normalized = str(path)
        if normalized in seen:
            raise UnsafeArchiveError(f"member {name!r} appears twice", path=where)
        seen.add(normalized)
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_total_bytes:
            raise UnsafeArchiveError(
                f"members unpack to more than {max_total_bytes} bytes (raise the limit if this is expected)",
                path=where,
            )
        if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > 1 << 20:
            raise UnsafeArchiveError(
                f"member {name!r} compresses {info.file_size / info.compress_size:.0f}:1, beyond {max_ratio:g}:1 "
                "(a zip bomb?)",
                path=where,
            )
        members.append(info)
    return members


class _BoundedReader:
    """A member stream that refuses to yield more bytes than the member declared."""

    def __init__(self, stream: IO[bytes], limit: int, where: str) -> None:
        self._stream = stream
        self._left = limit
        self._where = where

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        try:
            chunk = self._stream.read(want)
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as error:  # bad CRC, broken deflate
            raise FormatError(f"damaged archive member: {error}", path=self._where) from None
        self._left -= len(chunk)
        if self._left < 0:
            raise UnsafeArchiveError("member unpacks to more bytes than it declares", path=self._where)
        return chunk

    def readinto(self, buffer: bytearray | memoryview) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _BoundedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> _BoundedReader:
    """A bounded binary stream of one member (checked by :func:`safe_members`)."""
    member_where = f"{where}!{info.filename}"
    try:
        return _BoundedReader(archive.open(info), info.file_size, member_where)
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        lzma.LZMAError,
    ) as error:
        raise FormatError(f"cannot read the member: {error}", path=member_where) from None  # OSError: bad offset


def iter_chunks(stream: _BoundedReader, where: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The member's bytes in chunks; a damaged member is a :class:`FormatError`."""
    try:
        while chunk := stream.read(chunk_size):
            yield chunk
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise FormatError(f"damaged archive member: {error}", path=where) from None
