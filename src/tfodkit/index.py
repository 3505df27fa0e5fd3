"""Record index files: where each record of a TFRecord file starts, for random access and shuffling.

The format is the one of the ``tfrecord`` package (``tfrecord.tools.tfrecord2idx``) and NVIDIA DALI's
``tfrecord2idx``: a text file with one line per record, ``"<offset> <size>\\n"``, where ``offset`` is the byte
offset of the record's header and ``size`` the whole framed record (12 header bytes + data + 4 CRC bytes).
Index files written here are read by those tools, and theirs by :func:`read_index`. The index of
``train-00000-of-00004.tfrecord`` is ``train-00000-of-00004.tfrecord.idx`` beside it (:func:`index_path_for`);
readers never take ``.idx`` files for record files.

Only plain (uncompressed) files can be indexed: a GZIP/ZLIB stream cannot be entered in the middle.

Example:
    >>> import tempfile, os
    >>> from tfodkit.records import RecordWriter
    >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
    >>> with RecordWriter(path) as writer:
    ...     writer.write(b"abc")
    ...     writer.write(b"de")
    >>> os.path.basename(write_index(path))
    'a.tfrecord.idx'
    >>> open(path + ".idx").read()
    '0 19\\n19 18\\n'
    >>> RecordIndex(path).read(1)
    b'de'
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from typing import IO

import numpy as np

from tfodkit.errors import CorruptRecordError, FormatError, UsageError
from tfodkit.records import detect_compression, expand_sources, masked_crc32c, record_offsets
from tfodkit.storage import atomic_file, check_output, is_url, open_input

INDEX_SUFFIX = ".idx"
FRAME_OVERHEAD = 16  # 8 length bytes + 4 length CRC + 4 data CRC
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")


def index_path_for(record_path: str | os.PathLike[str]) -> str:
    """Where the index of ``record_path`` lives: the same name plus ``.idx``."""
    return os.fspath(record_path) + INDEX_SUFFIX


def is_compressed(record_path: str | os.PathLike[str]) -> bool:
    """True for a GZIP/ZLIB record file (told from its first bytes, as readers do)."""
    path = os.fspath(record_path)
    with open_input(path) as stream:
        head = stream.read(12)
    return bool(head) and detect_compression(head, path) is not None


def build_index(record_path: str | os.PathLike[str]) -> np.ndarray:
    """``(N, 2)`` int64 array of ``[offset, framed size]`` for every record of one plain TFRecord file.

    Walks the file header to header (length CRCs checked, data skipped with ``seek``). A compressed file is a
    :class:`UsageError`; a damaged one a :class:`CorruptRecordError` naming the record and offset.
    """
    path = os.fspath(record_path)
    if is_compressed(path):
        raise UsageError(f"{path}: a compressed TFRecord file cannot be indexed (records are not seekable in it)")
    offsets = record_offsets(path, compression=None)
    index = np.zeros((len(offsets), 2), dtype=np.int64)
    if offsets:
        index[:] = offsets
        index[:, 1] += FRAME_OVERHEAD
    return index


def write_index(
    record_path: str | os.PathLike[str], index_path: str | os.PathLike[str] | None = None, *, overwrite: bool = False
) -> str:
    """Index one plain TFRecord file; returns the index path (default :func:`index_path_for`), written atomically.

    An index file that is already there is left alone when it says what this one would, and replaced when it is
    an index (``"<offset> <size>"`` lines) of other records: a stale index makes readers fail, and rewriting
    it is what indexing is for. Anything else there (a file that is no index, a folder) is not ours to replace:
    refused unless ``overwrite`` (:func:`tfodkit.storage.check_output`).
    """
    index = build_index(record_path)
    target = os.fspath(index_path) if index_path is not None else index_path_for(record_path)
    text = "".join(f"{offset} {size}\n" for offset, size in index.tolist()).encode("ascii")
    existing = _existing_index(target)
    if existing is not None and np.array_equal(existing, index):
        return target  # already up to date: not rewritten
    if existing is None:
        check_output(target, inputs=[record_path], overwrite=overwrite)
    with atomic_file(target) as out:
        out.write(text)
    return target


def _existing_index(path: str) -> np.ndarray | None:
    """The rows of the index file at ``path``, or None when there is none or it is not an index file."""
    exists = _url_exists(path) if is_url(path) else os.path.isfile(path)
    return _readable_index(path) if exists else None


def _readable_index(path: str) -> np.ndarray | None:
    try:
        return read_index(path)
    except (FormatError, UnicodeDecodeError, ValueError):
        return None


def index_files(source: str | os.PathLike[str] | Iterable[str], *, overwrite: bool = False) -> list[tuple[str, str]]:
    """Index every record file ``source`` names: a file, a folder, a glob, a sharded name, or a list of those.

    Returns ``[(record file, index file), …]``. ``overwrite``: see :func:`write_index`. Every index path is
    checked before any is written, so a refusal writes nothing.
    """
    sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[str] = []
    for item in sources:
        text = os.fspath(item)
        if not is_url(text) and os.path.isdir(text):
            from tfodkit.formats.tfod_files import record_files

            files.extend(file for _, group in record_files(text) for file in group)
        else:
            files.extend(expand_sources(text))
    for path in files:  # refuse before writing anything
        target = index_path_for(path)
        if _existing_index(target) is None:
            check_output(target, inputs=[path], overwrite=overwrite)
    return [(path, write_index(path, overwrite=overwrite)) for path in files]


def read_index(index_path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(N, 2)`` int64 ``[offset, framed size]`` array of an index file (``tfrecord``/DALI text format)."""
    path = os.fspath(index_path)
    with open_input(path) as stream:
        text = stream.read()
    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            offset, size = (int(field) for field in fields[:2])
        except ValueError:
            raise FormatError(f"expected '<offset> <size>', found {line[:60]!r}", path=path, line=line_number) from None
        if len(fields) != 2 or offset < 0 or size < FRAME_OVERHEAD:
            raise FormatError(f"expected '<offset> <size>', found {line[:60]!r}", path=path, line=line_number)
        rows.append((offset, size))
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def load_or_build_index(record_path: str | os.PathLike[str]) -> np.ndarray:
    """The index of ``record_path`` from its ``.idx`` file when there is one, else built by scanning the file."""
    index_path = index_path_for(record_path)
    exists = os.path.exists(index_path) if not is_url(index_path) else _url_exists(index_path)
    return read_index(index_path) if exists else build_index(record_path)


def _url_exists(url: str) -> bool:
    import fsspec

    filesystem, inner = fsspec.core.url_to_fs(url)
    return bool(filesystem.exists(inner))


def read_record_at(stream: IO[bytes], offset: int, size: int, *, path: str = "<stream>", verify: bool = True) -> bytes:
    """The data of the record whose framed bytes are ``stream[offset : offset + size]``, CRCs checked."""
    stream.seek(offset)
    framed = stream.read(size)
    if len(framed) != size or size < FRAME_OVERHEAD:
        raise CorruptRecordError(
            f"index says {size} bytes at this offset, the file has {len(framed)}", path=path, offset=offset
        )
    length, length_crc = _HEADER.unpack_from(framed)
    if length != size - FRAME_OVERHEAD:
        raise CorruptRecordError(
            f"index says a {size}-byte record, the header says {length} data bytes (stale index?)",
            path=path,
            offset=offset,
        )
    data = framed[12 : 12 + length]
    if verify:
        if masked_crc32c(framed[:8]) != length_crc:
            raise CorruptRecordError("length CRC mismatch (stale index?)", path=path, offset=offset)
        if masked_crc32c(data) != _CRC.unpack_from(framed, 12 + length)[0]:
            raise CorruptRecordError("data CRC mismatch", path=path, offset=offset)
    return data


class RecordIndex:
    """Random access to the records of one plain TFRecord file through its index.

    The file is opened on first use and re-opened after pickling (each DataLoader worker gets its own handle).

    Example: see the module docstring.
    """

    def __init__(
        self, record_path: str | os.PathLike[str], index: np.ndarray | None = None, *, verify: bool = True
    ) -> None:
        self.path = os.fspath(record_path)
        self.index = load_or_build_index(self.path) if index is None else index
        self.verify = verify
        self._stream: IO[bytes] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def read(self, position: int) -> bytes:
        """The data of record number ``position`` (0-based)."""
        offset, size = (int(value) for value in self.index[position])
        if self._stream is None:
            self._stream = open_input(self.path)
        return read_record_at(self._stream, offset, size, path=self.path, verify=self.verify)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "index": self.index, "verify": self.verify}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._stream = None


__all__ = [
    "INDEX_SUFFIX",
    "RecordIndex",
    "build_index",
    "index_files",
    "index_path_for",
    "is_compressed",
    "load_or_build_index",
    "read_index",
    "read_record_at",
    "write_index",
]
