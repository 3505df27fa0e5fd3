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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
