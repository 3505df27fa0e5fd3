"""The JSON side of COCO: its arrays streamed in one element at a time, the annotations indexed by image id,
and the arrays of each subset written out piece by piece. :mod:`tfodkit.formats.coco` maps these to items.

Example:
    >>> id_key(1) == id_key(1.0), id_key(1 << 70)
    (True, 'int:1180591620717411303424')
"""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from tfodkit.errors import FormatError
from tfodkit.storage import UrlPath, open_binary

Location = Path | UrlPath  # a local path, or an fsspec URL


# A COCO file is one JSON document whose annotations are not sorted by image. So each pass streams it with
# ijson (C backend, one element at a time): the annotations into a temporary SQLite database indexed by image
# id, then the images in file order, each with its annotations fetched by one indexed query. Memory stays flat
# at any size; the database is SQLite's private temporary file, deleted when the pass ends.


def stream_items(json_path: Location, prefix: str) -> Iterator[Any]:
    """The elements of the array at ``prefix`` (``"images.item"``), parsed one at a time (a URL's file is streamed
    through fsspec, not fetched whole first)."""
    try:
        with open_binary(str(json_path)) as stream:
            yield from ijson.items(stream, prefix, use_float=True)
    except FileNotFoundError:
        raise FormatError("file not found", path=str(json_path)) from None
    except (ijson.JSONError, ValueError) as error:  # ValueError: bad UTF-8
        raise FormatError(f"not valid JSON: {error}", path=str(json_path)) from None


def _top_level_kind(json_path: Location, key: str) -> str | None:
    """The ijson event starting the top-level ``key``'s value (``"start_array"``…), None if absent. Only asked
    when a pass found no elements, to tell an empty array from a missing or misshapen one."""
    with open_binary(str(json_path)) as stream:
        for prefix, event, _ in ijson.parse(stream):
            if prefix == key and event not in ("map_key", "end_map", "end_array"):
                return event
    return None


def check_array(json_path: Location, key: str, *, required: bool) -> None:
    kind = _top_level_kind(json_path, key)
    if kind is None and required:
        raise FormatError(f"not a COCO instances file: no '{key}' list", path=str(json_path))
    if kind not in (None, "start_array", "null"):
        raise FormatError(f"'{key}' is not a list", path=str(json_path))


# SQLite stores integers of 64 bits; JSON may hold any.
_SQLITE_INTS = range(-(1 << 63), 1 << 63)


def id_key(image_id: Any) -> int | float | str:
    """An image id as an SQLite key that matches as Python's ``==`` does (1 == 1.0); TypeError for a list or
    object."""
    if isinstance(image_id, int) and image_id not in _SQLITE_INTS:
        return f"int:{image_id}"
    if isinstance(image_id, (int, float, str)):
        return image_id
    raise TypeError(f"an image id is a number or a string, not {type(image_id).__name__}")


def annotation_index(json_path: Location) -> sqlite3.Connection:
    """A temporary database of the file's annotations (``marshal``-ed, in file order) indexed by image id."""
    database = sqlite3.connect("")  # "": a private temporary file, removed on close
    try:
        database.execute("PRAGMA journal_mode = OFF")
        database.execute("PRAGMA cache_size = -256")  # KiB: a bounded page cache, whatever the size
        database.execute("CREATE TABLE annotations (image_id, data BLOB)")
        found = 0
        for annotation in stream_items(json_path, "annotations.item"):
            try:
                key = id_key(annotation["image_id"])
            except (KeyError, TypeError):
                raise FormatError(f"annotation without image_id: {str(annotation)[:80]}", path=str(json_path)) from None
            database.execute("INSERT INTO annotations VALUES (?, ?)", (key, marshal.dumps(annotation)))
            found += 1
        if not found:
            check_array(json_path, "annotations", required=False)
        database.execute("CREATE INDEX by_image ON annotations (image_id)")  # built once, after the inserts
    except BaseException:
        database.close()
        raise
    return database


def annotations_of_image(database: sqlite3.Connection, key: Any) -> list[dict[str, Any]]:
    rows = database.execute("SELECT data FROM annotations WHERE image_id = ? ORDER BY rowid", (key,))
    return [marshal.loads(data) for (data,) in rows]


def read_categories(json_path: Location) -> list[dict[str, Any]]:
    categories = list(stream_items(json_path, "categories.item"))
    if not categories:
        check_array(json_path, "categories", required=False)
    return categories


class _IdBits:
    """A set of non-negative ints as a bitmap, one bit per id up to the largest (COCO ids are dense and small:
    12 KB for 100k images, where a ``set`` holds ~70 bytes per id); ids beyond ``BITMAP_LIMIT`` go to a set."""

    BITMAP_LIMIT = 1 << 24  # a bitmap of at most 2 MB

    def __init__(self) -> None:
        self.bits = bytearray()
        self.large: set[int] = set()

    def __contains__(self, number: int) -> bool:
        if number >= self.BITMAP_LIMIT:
            return number in self.large
        byte = number >> 3
        return byte < len(self.bits) and bool(self.bits[byte] & (1 << (number & 7)))

    def add(self, number: int) -> None:
        if number >= self.BITMAP_LIMIT:
            self.large.add(number)
            return
        byte = number >> 3
        if byte >= len(self.bits):
            size = min(max(byte + 1, 2 * len(self.bits)), self.BITMAP_LIMIT >> 3)  # doubling: amortized O(1)
            self.bits.extend(bytes(size - len(self.bits)))
        self.bits[byte] |= 1 << (number & 7)


@dataclass
class SubsetWriter:
    """The ``images`` and ``annotations`` arrays of one subset, written piece by piece to temporary files."""

    images: IO[str]
    annotations: IO[str]
    image_count: int = 0
    annotation_count: int = 0
    used_ids: _IdBits = field(default_factory=_IdBits)
    next_id: int = 1

    def image_id(self, source_id: Any) -> int:
        # Keep the COCO id a record or COCO source carries (the OD API's source_id); else number on.
        text = "" if source_id is None else str(source_id)
        if text.isdigit() and int(text) not in self.used_ids:
            chosen = int(text)
        else:
            while self.next_id in self.used_ids:
                self.next_id += 1
            chosen = self.next_id
        self.used_ids.add(chosen)
        return chosen

    def add_image(self, entry: dict[str, Any]) -> None:
        self.images.write(("," if self.image_count else "") + dumps(entry))
        self.image_count += 1

    def add_annotation(self, entry: dict[str, Any]) -> None:
        self.annotation_count += 1
        entry["id"] = self.annotation_count
        self.annotations.write(("," if self.annotation_count > 1 else "") + dumps(entry))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
