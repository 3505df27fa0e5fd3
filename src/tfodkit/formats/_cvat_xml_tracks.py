"""CVAT for video 1.1: ``<track>`` elements turned into per-frame shapes, gathered by frame with bounded memory.

A video document holds no ``<image>``: each ``<track id label [group_id] [task_id subset]>`` lists its shapes
frame by frame (``<box frame outside occluded keyframe …>``, ``<polygon>``, ``<polyline>``). CVAT's export
writes every frame of a track, keyframes and the frames it interpolated, until a keyframe with ``outside="1"``
ends it (a plain shape is a track of one keyframe then an outside one). Read as CVAT and Datumaro read it:

- a shape on an ``outside="1"`` frame is no object (the object left the view) and is dropped;
- every other shape is an object of its frame, with the track's label and group, and ``track_id`` (int) kept
  as a per-object attribute;
- frames are named as CVAT names them in its export zip: ``frame_<6 digits>`` + the extension of the file
  found in ``images/`` (``images/<subset>/`` in a project export), ``.PNG`` (CVAT's video frame files) when no
  file is there; the frame number is the ``frame`` attribute (project exports number frames on from one task
  to the next within a subset, as CVAT does);
- every frame of the task(s) in ``<meta>`` (``size``, ``start_frame``, ``frame_filter`` ``step=N``) is an item,
  with or without shapes, sized by ``<original_size>``; frames with shapes beyond them follow.

One frame's shapes come from many tracks spread across the whole file, so the shapes are not held in memory:
each track (one element, freed once read) is parsed and its shapes written to a private temporary SQLite file
indexed by (subset, frame); the items are then built frame by frame from it. Memory is one track plus one
frame, whatever the length of the video.

Example:
    >>> frames = task_frames([{"subset": "train", "size": "3", "start_frame": "2", "frame_filter": "step=2"}])
    >>> [(task.subset, list(task.frames())) for task in frames]
    [('train', [2, 4, 6])]
"""

from __future__ import annotations

import pickle
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tfodkit.errors import FormatError
from tfodkit.model import ImageRef, Item, LabelMap

VIDEO_SHAPES = ("box", "polygon", "polyline")  # shapes of a track read as objects
FRAME_EXTENSIONS = (".PNG", ".png", ".jpg", ".jpeg", ".JPG", ".JPEG", ".bmp")  # CVAT writes video frames as .PNG
TRACK_ID = "track_id"


def frame_stem(frame: int) -> str:
    """CVAT's name for a video frame, without extension: ``frame_000012``."""
    return f"frame_{frame:06d}"


@dataclass(frozen=True)
class TaskFrames:
    """The frames of one task (or job) as ``<meta>`` gives them."""

    subset: str | None
    task_id: str | None
    size: int | None  # frames in the task; None: not given (then only frames with shapes become items)
    start: int
    step: int
    offset: int  # project exports number a subset's frames on from its previous tasks
    width: int | None
    height: int | None

    def frames(self) -> range:
        first = self.offset + self.start
        return range(first, first + self.step * (self.size or 0), self.step)


def _int(text: Any, default: int | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def _step(frame_filter: Any) -> int:
    text = str(frame_filter or "").strip()
    if text.startswith("step="):
        return max(1, _int(text[5:], 1) or 1)
    return 1


def task_frames(tasks: list[dict[str, Any]]) -> list[TaskFrames]:
    """The frames of each task of ``<meta>`` (dicts of its child texts), project offsets applied in meta order."""
    result = []
    offsets: dict[str | None, int] = {}
    for task in tasks:
        subset = (task.get("subset") or "").strip() or None
        start = _int(task.get("start_frame"), 0) or 0
        step = _step(task.get("frame_filter"))
        size = _int(task.get("size"), None)
        offset = offsets.get(subset, 0)
        result.append(
            TaskFrames(
                subset,
                (task.get("id") or "").strip() or None,
                size,
                start,
                step,
                offset,
                _int(task.get("width"), None),
                _int(task.get("height"), None),
            )
        )
        offsets[subset] = offset + start + step * (size or 0)
    return result


def meta_tasks(meta: Any) -> tuple[list[dict[str, Any]], bool]:
    """The ``<task>``/``<job>`` entries of a ``<meta>`` element as dicts (with ``width``/``height`` from
    ``<original_size>``), and whether it declares a video (``<mode>interpolation</mode>``)."""
    tasks: list[dict[str, Any]] = []
    video = False
    shared = meta.find(".//original_size")
    for holder in meta:
        if holder.tag == "project":
            found = holder.findall("tasks/task")
        elif holder.tag in ("task", "job"):
            found = [holder]
        else:
            continue
        for task in found:
            entry = {child.tag: (child.text or "") for child in task if isinstance(child.tag, str)}
            size = task.find("original_size")
            size = size if size is not None else shared
            if size is not None:
                entry["width"], entry["height"] = size.findtext("width"), size.findtext("height")
            video = video or entry.get("mode", "").strip() == "interpolation"
            tasks.append(entry)
    return tasks, video


class FrameIndex:
    """Shapes of tracks by (subset, frame) in a private temporary SQLite file (removed when closed)."""

    def __init__(self) -> None:
        self._database = sqlite3.connect("")  # "": a private temporary file, deleted on close
        self._database.execute("CREATE TABLE shapes (subset TEXT, frame INTEGER, shape BLOB)")
        self._database.execute("CREATE INDEX by_frame ON shapes (subset, frame)")
        self.tracks = 0
        self.shapes = 0

    def add(self, subset: str, frame: int, shape: Any) -> None:
        # Pickle: our own objects, in our own private file, read back by this process only.
        self._database.execute("INSERT INTO shapes VALUES (?, ?, ?)", (subset, frame, pickle.dumps(shape)))
        self.shapes += 1

    def take(self, subset: str, frame: int) -> list[Any]:
        """The shapes of one frame, in the order they were added; they leave the index."""
        rows = self._database.execute(
            "SELECT rowid, shape FROM shapes WHERE subset = ? AND frame = ? ORDER BY rowid", (subset, frame)
        ).fetchall()
        if rows:
            self._database.execute("DELETE FROM shapes WHERE subset = ? AND frame = ?", (subset, frame))
        return [pickle.loads(shape) for _rowid, shape in rows]

    def remaining(self) -> Iterator[tuple[str, int]]:
        """(subset, frame) pairs still holding shapes (frames beyond the ones ``<meta>`` lists), in order."""
        rows = self._database.execute(
            "SELECT subset, frame, MIN(rowid) FROM shapes GROUP BY subset, frame ORDER BY MIN(rowid)"
        ).fetchall()
        subsets = list(dict.fromkeys(subset for subset, _frame, _first in rows))
        for subset, frame, _first in sorted(rows, key=lambda row: (subsets.index(row[0]), row[1])):
            yield subset, frame

    def close(self) -> None:
        self._database.close()


def index_track(
    element: Any,
    where: str,
    label_map: LabelMap,
    tasks: list[dict[str, Any]],
    default_subset: str,
    index: FrameIndex,
    skipped: Counter[str],
) -> None:
    """One ``<track>``'s shapes, outside frames dropped, into ``index`` by (subset, frame)."""
    # The shape parsing is the reader's (cvat_xml imports this module: imported at call time).
    from tfodkit.formats.cvat_xml import _flag_attribute, _int_attribute, _read_shape

    values = dict(element.attrib)
    label = values.get("label")
    if label is None:
        raise FormatError("<track> has no label", path=where, line=element.sourceline)
    track_id = _int_attribute(element, values, "id", where)
    subset = values.get("subset") or default_subset
    sizes = {task.task_id: (task.width, task.height) for task in task_frames(tasks)}
    size = sizes.get(values.get("task_id"), next(iter(sizes.values())) if len(sizes) == 1 else (None, None))
    shapes = []
    for child in element:
        if child.tag not in VIDEO_SHAPES:
            if isinstance(child.tag, str) and child.tag != "attribute":
                skipped[child.tag] += 1
            continue
        child_values = dict(child.attrib)
        if _flag_attribute(child, child_values, "outside", where):
            continue  # the object is out of view from this frame on: no object here
        frame = _int_attribute(child, child_values, "frame", where)
        if frame is None:
            raise FormatError(f"<{child.tag}> in a <track> has no frame", path=where, line=child.sourceline)
        child.set("label", label)  # a track's shapes take its label and group
        if values.get("group_id"):
            child.set("group_id", values["group_id"])
        shape = _read_shape(child, where, label_map, size)
        if track_id is not None:
            shape.free[TRACK_ID] = track_id
        shapes.append((frame, shape))
    for frame, shape in shapes:  # all checked first: a bad track leaves nothing behind
        index.add(subset, frame, shape)
    index.tracks += 1


def frame_items(
    index: FrameIndex | None,
    tasks: list[dict[str, Any]],
    default_subset: str,
    locate: Callable[[str, str, int | None, int | None], ImageRef],
) -> Iterator[Item]:
    """A video's items: every frame ``<meta>`` lists, then frames with shapes it does not list."""
    frames_of_tasks = task_frames(tasks)
    for task in frames_of_tasks:
        subset = task.subset or default_subset
        for frame in task.frames():
            shapes = index.take(subset, frame) if index is not None else []
            yield _frame_item(subset, frame, shapes, (task.width, task.height), locate)
    if index is not None:
        only = frames_of_tasks[0] if len(frames_of_tasks) == 1 else None
        size = (only.width, only.height) if only is not None else (None, None)
        for subset, frame in index.remaining():
            yield _frame_item(subset, frame, index.take(subset, frame), size, locate)


def _frame_item(
    subset: str,
    frame: int,
    shapes: list[Any],
    size: tuple[int | None, int | None],
    locate: Callable[[str, str, int | None, int | None], ImageRef],
) -> Item:
    from tfodkit.formats.cvat_xml import _objects

    stem = frame_stem(frame)
    image = None
    for extension in FRAME_EXTENSIONS:  # the file CVAT's export holds for this frame, whatever its extension
        found = locate(stem + extension, subset, *size)
        if found.path is not None or found.has_bytes:
            image = found
            break
    if image is None:
        image = ImageRef(stem + FRAME_EXTENSIONS[0], width=size[0], height=size[1])
    return Item(stem, image, _objects(shapes), subset, {"frame": frame})
