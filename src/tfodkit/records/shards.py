"""Sharded sets and sources: ``NAME-00000-of-00004.tfrecord`` names, globs, ``NAME@4``, lists of those.

TF OD API, TFDS and Beam name shards that way; ``read_records("train.tfrecord")`` reads the whole set when
only the shards exist.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Iterable

from tfodkit.errors import FormatError, UsageError
from tfodkit.records.framing import GZIP_SUFFIXES, ZLIB_SUFFIXES
from tfodkit.storage import is_url

PathLike = str | os.PathLike[str]
Source = PathLike | Iterable[PathLike]


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
    if name[dot:].lower() in GZIP_SUFFIXES + ZLIB_SUFFIXES:
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
