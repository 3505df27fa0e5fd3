"""Before a write: the output may not destroy what is not its own, and a killed run's leftovers go.

:func:`prepare_output` is the one place every writer reached through :func:`tfodkit.pipeline.write_dataset`
passes: it removes what an interrupted run left beside the output, then refuses (one-line
:class:`~tfodkit.errors.UsageError`) an output that is, holds or lies inside an input, or that exists
(without ``overwrite``). A TFRecord file output owns its family of names (its shards of any count and its label
map), so an earlier member of the family counts as the output existing.

Example:
    >>> import tempfile
    >>> from tfodkit.formats import get_format
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "out-00000-of-00002.tfrecord"), "wb")
    >>> prepare_output(get_format("tfrecord"), os.path.join(folder, "out.tfrecord"), [], False, {})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfodkit.errors.UsageError: .../out-00000-of-00002.tfrecord exists (part of the output .../out.tfrecord); ...
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tfodkit.errors import TfodWarning, UsageError
from tfodkit.formats import FormatInfo
from tfodkit.storage import check_output, is_url, remove_leftovers

FOLDER_ONLY_WRITERS = frozenset({"voc", "coco", "yolo"})  # a target named .zip would be a folder called x.zip


def input_paths(source: str, read_options: Mapping[str, Any]) -> list[str]:
    """The paths a conversion reads: the source (each match of a glob pattern), the ``label_map`` and
    ``images_dir`` options when given, and the ``images/`` folder beside an annotation file (CVAT XML, a COCO JSON:
    where their readers look for the images).

    Example:
        >>> input_paths("in.tfrecord", {"label_map": "labels.pbtxt", "subset": "train"})
        ['in.tfrecord', 'labels.pbtxt']
        >>> input_paths("task/annotations.xml", {})
        ['task/annotations.xml', 'task/images']
    """
    paths = [source]
    if not is_url(source) and glob.has_magic(source):
        paths.extend(glob.glob(source))
    if not is_url(source) and source.lower().endswith((".xml", ".json")):
        paths.append(os.path.join(os.path.dirname(source), "images"))
    paths.extend(str(read_options[name]) for name in ("label_map", "images_dir") if read_options.get(name))
    return paths


def prepare_output(
    info: FormatInfo, path: str, inputs: Sequence[str | None], overwrite: bool, options: Mapping[str, Any]
) -> str:
    """Clean up after a killed run, check the output (see the module), and return the path to write to
    (``.`` and names ending in ``..`` made absolute, so a temporary name can be put beside them)."""
    if not is_url(path) and Path(path).name in ("", ".."):  # ".", "..", "a/.."
        path = os.path.abspath(path)
    if info.name in FOLDER_ONLY_WRITERS and path.lower().rstrip("/").endswith(".zip"):
        raise UsageError(f"{path}: {info.name} is written as a folder, not a zip; name a folder (e.g. without .zip)")
    removed = remove_leftovers(path)
    if removed:
        names = ", ".join(str(each) for each in removed)
        warnings.warn(f"removed {len(removed)} leftovers of an interrupted run: {names}", TfodWarning, stacklevel=3)
    family: list[Path] = []
    label_map_path: str | None = None
    if info.name == "tfrecord":
        from tfodkit.formats import tfod_files

        family = [member for member in tfod_files.output_family(path) if member != Path(path)]
        label_map_path = options.get("label_map_out")
        if label_map_path is None and tfod_files.is_single_file(path) and not is_url(path):
            label_map_path = str(Path(path).parent / tfod_files.LABEL_MAP_NAME)
    elif info.name == "cvat" and path.lower().endswith(".xml") and options.get("save_images"):
        family = [Path(path).parent / "images"] if not is_url(path) else []  # the images go beside the XML file
    check_output(path, inputs=inputs, overwrite=overwrite, also_owned=family)
    if label_map_path is not None:  # its content is compared when written (an identical one is left alone)
        check_output(label_map_path, inputs=inputs, overwrite=True)
    return path
