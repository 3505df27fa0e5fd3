"""The format registry: one module per format, each with ``read``/``write``/``detect`` functions.

A format module defines, as it can:
- ``read(path: str, *, <options>) -> Dataset`` — a streaming reader;
- ``write(dataset: Dataset, path: str, *, <options>) -> None`` — a streaming, atomic writer;
- ``detect(path: str) -> bool`` — True when ``path`` looks like this format (cheap: names, first bytes);
- ``READ_OPTIONS`` / ``WRITE_OPTIONS`` — tuples of :class:`Option`, one per keyword of ``read`` / ``write``.
  The ``tfod`` CLI makes its flags from them and :func:`check_options` accepts exactly them, so adding an option
  to a format is one edit in the format's module (and its keyword).
Modules are imported only when used, so ``import tfodkit`` stays fast.

Example:
    >>> [option.flag for option in get_format("voc").read_options]
    ['--year', '--set', '--annotations-dir', '--ignore-difficult', '--label-map']
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Literal

from tfodkit.errors import UsageError

# name -> (module, one-line description); the order is the order auto-detection tries them in.
_MODULES: dict[str, tuple[str, str]] = {
    "cvat-tfrecord": ("tfodkit.formats.cvat_zip", "CVAT 'TFRecord 1.0' zip: <subset>.tfrecord + label_map.pbtxt"),
    "tfrecord": ("tfodkit.formats.tfod", "TF OD API .tfrecord files (a file, a folder, a glob or shards)"),
    "cvat": ("tfodkit.formats.cvat_xml", "CVAT for images 1.1 XML (annotations.xml + images/)"),
    "voc": ("tfodkit.formats.voc", "Pascal VOC (VOCdevkit, Annotations/, JPEGImages/, ImageSets/Main/)"),
    "coco": ("tfodkit.formats.coco", "COCO instances JSON (annotations/instances_<subset>.json)"),
    "yolo": ("tfodkit.formats.yolo", "YOLO, darknet (obj.names, obj.data) or Ultralytics (data.yaml)"),
    "hf": ("tfodkit.formats.hf", "Hugging Face datasets: save_to_disk folder or Parquet (pip install 'tfodkit[hf]')"),
}


def _ends(*endings: str) -> Callable[[str], bool | None]:
    """A first look that refuses a file whose name ends otherwise, and leaves the rest to the format's detect()."""
    return lambda name: None if name.lower().endswith(endings) else False


def _record_file(name: str) -> bool | None:
    from tfodkit.formats.tfod_files import is_record_name

    return is_record_name(name)  # all the tfrecord format's detect() looks at for a file: its name


# For a local file: what each format's detect() would say, told by the file's name alone (True, False) or None when
# only detect() can tell. detect_format() imports a format's module only for a None, so that `tfod info
# train.tfrecord` imports neither numpy, lxml nor ijson. tests/test_startup.py checks these against detect().
_FILE_NAMES: dict[str, Callable[[str], bool | None]] = {
    "cvat-tfrecord": _ends(".zip"),
    "tfrecord": _record_file,
    "cvat": _ends(".zip", ".xml"),
    "voc": lambda name: False,  # a folder only
    "coco": _ends(".json"),
    "yolo": lambda name: None if name == "obj.data" else _ends(".yaml", ".yml")(name),
    "hf": _ends(".parquet", ".arrow"),
}


@dataclass(frozen=True)
class Option:
    """One keyword of a format's ``read`` or ``write``, and the ``tfod`` flag that sets it.

    ``type`` is ``str``, ``int`` or ``bool``; ``choices`` limits a ``str``; ``minimum`` bounds an ``int``.
    ``default`` is what the reader/writer does without it (documentation: the CLI passes only what a user gave).
    ``flag`` defaults to ``--name-with-dashes``; ``negatable`` bools also get ``--no-…``.

    Example:
        >>> Option("shard_size", int, help="bytes per shard", minimum=1, metavar="BYTES").flag
        '--shard-size'
    """

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    flag_name: str | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    metavar: str | None = None
    negatable: bool = False

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    def with_default(self, default: Any) -> Option:
        """This option with another format's default (e.g. ``save_images`` is on for VOC, off for CVAT)."""
        return replace(self, default=default)


# Options several formats share: declared once so the flag, type and help agree.
LABEL_MAP = Option(
    "label_map", str, help="label_map.pbtxt for the input (default: the one the input has, if any).", metavar="FILE"
)
IMAGES_DIR = Option(
    "images_dir", str, help="Folder of images the input's annotations name.", flag_name="--images", metavar="DIR"
)
SAVE_IMAGES = Option(
    "save_images",
    bool,
    help="Embed / copy the original image bytes (no default: embed when the input holds them, as records do; "
    "otherwise the output format's usual choice).",
    negatable=True,
)


@dataclass(frozen=True)
class FormatInfo:
    name: str
    description: str
    module: ModuleType

    @property
    def can_read(self) -> bool:
        return hasattr(self.module, "read")

    @property
    def can_write(self) -> bool:
        return hasattr(self.module, "write")

    @property
    def read_options(self) -> tuple[Option, ...]:
        return tuple(getattr(self.module, "READ_OPTIONS", ()))

    @property
    def write_options(self) -> tuple[Option, ...]:
        return tuple(getattr(self.module, "WRITE_OPTIONS", ()))

    @property
    def uses_workers(self) -> bool:
        """Whether the writer spreads per-item encoding over ``workers`` processes (the others work in-process)."""
        return self.writer_takes("workers")

    def writer_takes(self, keyword: str) -> bool:
        """Whether the writer has the (undeclared, pipeline-set) keyword ``keyword``: ``workers``, ``overwrite``."""
        return self.can_write and keyword in inspect.signature(self.module.write).parameters


Direction = Literal["read", "write"]


def check_options(info: FormatInfo, options: Mapping[str, Any], direction: Direction) -> None:
    """Refuse options that ``info``'s reader or writer does not declare, naming the option, the format and the
    options it has — the one check every route (CLI, :func:`tfodkit.convert`, Beam) goes through.

    Example:
        >>> check_options(get_format("coco"), {"year": "VOC2007"}, "read")
        Traceback (most recent call last):
        ...
        tfodkit.errors.UsageError: --year does not apply when reading coco (its read options: --subset, \
--include-masks, --label-map)
    """
    declared = info.read_options if direction == "read" else info.write_options
    accepted = {option.name for option in declared}
    unknown = [name for name in options if name not in accepted]
    if unknown:
        flags = {option.name: option.flag for option in all_options()}
        names = ", ".join(flags.get(name, name) for name in unknown)
        known = ", ".join(option.flag for option in declared) or "none"
        verb = "reading" if direction == "read" else "writing"
        raise UsageError(f"{names} does not apply when {verb} {info.name} (its {direction} options: {known})")


def all_options() -> list[Option]:
    """Every declared read and write option of every format, each name once (first declaration wins)."""
    seen: dict[tuple[str, str], Option] = {}
    for name in _MODULES:
        info = get_format(name)
        for option in (*info.read_options, *info.write_options):
            seen.setdefault((option.name, option.flag), option)
    return list(seen.values())


def format_names() -> list[str]:
    return list(_MODULES)


def get_format(name: str) -> FormatInfo:
    """The registered format ``name``; an unknown name is a :class:`UsageError` listing the known ones."""
    if name not in _MODULES:
        raise UsageError(f"unknown format {name!r}; known formats: {', '.join(_MODULES)}")
    module_name, description = _MODULES[name]
    return FormatInfo(name, description, importlib.import_module(module_name))


def _exists(path: str) -> bool:
    """False only for a local path that is surely absent (URLs and glob patterns are left to the readers)."""
    from tfodkit.storage import is_url

    return is_url(path) or any(character in str(path) for character in "*?[") or os.path.lexists(path)


def detect_format(path: str) -> str:
    """The name of the one format ``path`` looks like; raises :class:`UsageError` when none or several match."""
    if not _exists(path):
        raise UsageError(f"{path}: no such file or folder")
    matches = [name for name in _MODULES if _detects(name, path)]
    if not matches:
        raise UsageError(f"cannot tell the format of {path!r}; give it with --from ({', '.join(_MODULES)})")
    if len(matches) > 1 and matches[0] != "cvat-tfrecord":
        raise UsageError(f"{path!r} could be {' or '.join(matches)}; give the format with --from")
    return matches[0]


def _detects(name: str, path: str) -> bool:
    """Whether format ``name`` detects ``path``: by the file's name when that tells, else by the format's detect()."""
    if os.path.isfile(path) and not any(character in str(path) for character in "*?["):
        by_name = _FILE_NAMES[name](os.path.basename(path))
        if by_name is not None:
            return by_name
    detect = getattr(get_format(name).module, "detect", None)
    return detect is not None and bool(detect(path))
