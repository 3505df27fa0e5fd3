"""Which files hold TFOD records: record file names, their subsets and shards, the label map beside them.

Input discovery (:func:`record_files`, :func:`find_label_map`) and the names a record file output owns
(:func:`is_single_file`, :func:`output_family`, :func:`record_files_in`).

Example:
    >>> subset_of("data/train-00001-of-00004.tfrecord"), is_record_name("val.record.gz")
    ('train', True)
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from tfodkit.errors import FormatError
from tfodkit.records import shard_names
from tfodkit.storage import is_url

RECORD_SUFFIXES = (".tfrecord", ".record", ".tfrecords")
COMPRESSED_SUFFIXES = (".gz", ".gzip", ".zlib", ".zz")
LABEL_MAP_NAME = "label_map.pbtxt"


def record_files(path: str) -> list[tuple[str, list[str]]]:
    """The record files at ``path`` grouped by subset: ``[(subset, [file, …]), …]`` in name order.

    ``path`` is a record file, a folder (every record file in it), a glob, or a sharded base name; local or
    an fsspec URL.
    """
    path = str(path)
    if is_url(path):
        files = _url_record_files(path)
    elif any(char in path for char in "*?["):
        files = sorted(glob.glob(path))
    elif os.path.isdir(path):
        files = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if is_record_name(name) and os.path.isfile(os.path.join(path, name))
        )
    elif os.path.isfile(path):
        files = [path]
    else:
        base, suffix = os.path.splitext(path)
        files = sorted(glob.glob(f"{glob.escape(base)}-[0-9]*-of-[0-9]*{suffix}"))
        files = files or sorted(glob.glob(f"{glob.escape(path)}-[0-9]*-of-[0-9]*"))  # tf.records-00000-of-00004
    if not files:
        raise FormatError("no .tfrecord files found", path=path)
    groups: dict[str, list[str]] = {}
    for file in files:
        groups.setdefault(subset_of(file), []).append(file)
    return list(groups.items())


def _url_record_files(url: str) -> list[str]:
    """``record_files`` for an fsspec URL: a glob, a folder, a file or a sharded base name."""
    import fsspec

    from tfodkit.records import find_shards

    filesystem, inner = fsspec.core.url_to_fs(url)
    if glob.has_magic(inner):
        found = filesystem.glob(inner)
    elif filesystem.isdir(inner):
        found = [name for name in filesystem.ls(inner, detail=False) if is_record_name(name.rsplit("/", 1)[-1])]
    elif filesystem.isfile(inner):
        return [url]
    else:
        return find_shards(url)
    return sorted(filesystem.unstrip_protocol(name) for name in found if filesystem.isfile(name))


def is_record_name(name: str) -> bool:
    """``train.tfrecord``, ``a.record``, ``b.tfrecords``, each maybe with ``.gz``/``.gzip``/``.zlib``/``.zz``;
    FiftyOne's ``tf.records`` and TF's shard style after the suffix (``tf.records-00000-of-00004``).

    Example:
        >>> [is_record_name(name) for name in ("a.tfrecord.gz", "tf.records", "tf.records-00001-of-00004", "a.txt")]
        [True, True, True, False]
    """
    lowered = _SUFFIX_SHARD.sub("", name.lower())
    if lowered == FIFTYONE_RECORDS:
        return True
    for compressed in ("", *COMPRESSED_SUFFIXES):
        if lowered.endswith(tuple(suffix + compressed for suffix in RECORD_SUFFIXES)):
            return True
    return False


_SUFFIX_SHARD = re.compile(r"-\d+-of-\d+$")  # train.tfrecord-00000-of-00004 (TF, FiftyOne), not train-0-of-4.tfrecord
FIFTYONE_RECORDS = "tf.records"  # FiftyOne's TFObjectDetectionDataset: the name says nothing of the subset


def subset_of(record_path: str) -> str:
    """``data/train-00001-of-00004.tfrecord`` → ``train``; ``val.record.gz`` → ``val``; ``tf.records`` →
    ``default``."""
    name = _SUFFIX_SHARD.sub("", os.path.basename(record_path))
    if name.lower() == FIFTYONE_RECORDS:
        return "default"
    for compressed in COMPRESSED_SUFFIXES:
        if name.lower().endswith(compressed):
            name = name[: -len(compressed)]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    parts = stem.rsplit("-", 3)
    if len(parts) == 4 and parts[2] == "of" and parts[1].isdigit() and parts[3].isdigit():
        stem = parts[0]
    return stem or "default"


def find_label_map(folder: str) -> str | None:
    """``label_map.pbtxt`` in ``folder``, else the one ``*label_map*.pbtxt`` there, else None."""
    if is_url(folder):
        import fsspec

        filesystem, inner = fsspec.core.url_to_fs(folder)
        exact_url = f"{folder.rstrip('/')}/{LABEL_MAP_NAME}"
        if filesystem.isfile(f"{inner.rstrip('/')}/{LABEL_MAP_NAME}"):
            return exact_url
        found = sorted(filesystem.glob(f"{glob.escape(inner.rstrip('/'))}/*label_map*.pbtxt"))
        return filesystem.unstrip_protocol(found[0]) if len(found) == 1 else None
    exact = os.path.join(folder, LABEL_MAP_NAME)
    if os.path.isfile(exact):
        return exact
    candidates = sorted(glob.glob(os.path.join(glob.escape(folder), "*label_map*.pbtxt")))
    return candidates[0] if len(candidates) == 1 else None


def is_single_file(path: str) -> bool:
    """True when ``path`` names one record file (``.tfrecord``, ``.record``, ``.tfrecords``, maybe compressed)
    rather than a folder of ``<subset>.tfrecord`` files.

    Example:
        >>> is_single_file("out.tfrecord.gz"), is_single_file("records/")
        (True, False)
    """
    target = Path(path)
    return target.suffix in RECORD_SUFFIXES or target.name.endswith(
        tuple(suffix + compressed for suffix in RECORD_SUFFIXES for compressed in COMPRESSED_SUFFIXES)
    )


def output_family(path: str) -> list[Path]:
    """The files that already exist of the record file output ``path``'s family: the file itself and its shards
    of any count (``out-00000-of-00004.tfrecord``…). A folder output or a URL has none (the folder is the output).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ("out.tfrecord", "out-00001-of-00002.tfrecord", "outer.tfrecord"):
        ...     _ = (folder / name).write_bytes(b"")
        >>> [member.name for member in output_family(str(folder / "out.tfrecord"))]
        ['out-00001-of-00002.tfrecord', 'out.tfrecord']
    """
    if is_url(path) or not is_single_file(path):
        return []
    target = Path(path)
    stem, _, suffix = Path(shard_names(target.name, 1)[0]).name.partition("-00000-of-00001")
    shard = re.compile(re.escape(stem) + r"-\d{5,}-of-\d{5,}" + re.escape(suffix))
    try:
        names = os.listdir(target.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(target.parent / name for name in names if name == target.name or shard.fullmatch(name))


def record_files_in(folder: Path) -> list[Path]:
    """The record files a folder output holds, which a new one replaces (its label map is written or kept)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(folder / name for name in names if is_record_name(name))
