"""The format registry: one module per format, each with ``read``/``write``/``detect`` functions.

A format module defines, as it can:
- ``read(path: str, **options) -> Dataset`` — a streaming reader;
- ``write(dataset: Dataset, path: str, **options) -> None`` — a streaming, atomic writer;
- ``detect(path: str) -> bool`` — True when ``path`` looks like this format (cheap: names, first bytes).
Modules are imported only when used, so ``import tfodkit`` stays fast.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tfodkit.errors import UsageError

# name -> (module, one-line description); the order is the order auto-detection tries them in.
_MODULES: dict[str, tuple[str, str]] = {
    "cvat-tfrecord": ("tfodkit.formats.cvat_zip", "CVAT 'TFRecord 1.0' zip: <subset>.tfrecord + label_map.pbtxt"),
    "tfrecord": ("tfodkit.formats.tfod", "TF OD API .tfrecord files (a file, a folder, a glob or shards)"),
    "cvat": ("tfodkit.formats.cvat_xml", "CVAT for images 1.1 XML (annotations.xml + images/)"),
    "voc": ("tfodkit.formats.voc", "Pascal VOC (VOCdevkit, Annotations/, JPEGImages/, ImageSets/Main/)"),
    "coco": ("tfodkit.formats.coco", "COCO instances JSON (annotations/instances_<subset>.json)"),
    "yolo": ("tfodkit.formats.yolo", "YOLO, darknet (obj.names, obj.data) or Ultralytics (data.yaml)"),
}


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

    def read_options(self) -> set[str]:
        return _keyword_names(getattr(self.module, "read", None))

    def write_options(self) -> set[str]:
        return _keyword_names(getattr(self.module, "write", None))


def _keyword_names(function: Any) -> set[str]:
    if function is None:
        return set()
    parameters = inspect.signature(function).parameters.values()
    return {parameter.name for parameter in parameters if parameter.kind == inspect.Parameter.KEYWORD_ONLY}


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
    matches = []
    for name in _MODULES:
        module = get_format(name).module
        detect = getattr(module, "detect", None)
        if detect is not None and detect(path):
            matches.append(name)
    if not matches:
        raise UsageError(f"cannot tell the format of {path!r}; give it with --from ({', '.join(_MODULES)})")
    if len(matches) > 1 and matches[0] != "cvat-tfrecord":
        raise UsageError(f"{path!r} could be {' or '.join(matches)}; give the format with --from")
    return matches[0]
