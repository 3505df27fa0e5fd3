"""Which items a Pascal VOC devkit holds: its year folders, the ``ImageSets/Main`` lists, the ``Annotations/``
files, and the subset of each item id. :mod:`tfodkit.formats.voc` reads the items these name.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "VOC2007" / "Annotations").mkdir(parents=True)
    >>> _ = (root / "VOC2007" / "Annotations" / "a.xml").write_text("<annotation/>")
    >>> folders = year_folders(root, None, "Annotations")
    >>> [(folder.name, item_id, subset) for folder, item_id, subset in list_items(folders, None, "Annotations")]
    [('VOC2007', 'a', 'default')]
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from tfodkit.errors import FormatError
from tfodkit.storage import UrlPath, join_path, list_folder, open_binary

SETS = ("train", "val", "trainval", "test")
SETS_DIR = os.path.join("ImageSets", "Main")
Folder = Path | UrlPath  # a dataset folder: local, or an fsspec URL


def year_folders(root: Folder, year: str | None, annotations_dir: str) -> list[Folder]:
    def has_annotations(folder: Folder) -> bool:
        return (folder / annotations_dir).is_dir()

    if year is None:
        if has_annotations(root):
            return [root]
        children = subfolders(root) if root.is_dir() else []
        found = [child for child in children if has_annotations(child)]
        if not found:
            raise FormatError(
                f"no {annotations_dir}/ folder here or in a year folder (VOC2007, VOC2012…)", path=str(root)
            )
        return found
    if year == "merged":
        missing = [name for name in ("VOC2007", "VOC2012") if not has_annotations(root / name)]
        if missing:
            raise FormatError(f"--year merged needs VOC2007 and VOC2012; missing: {', '.join(missing)}", path=str(root))
        return [root / "VOC2007", root / "VOC2012"]
    if has_annotations(root / year):
        return [root / year]
    if root.name == year and has_annotations(root):
        return [root]
    raise FormatError(f"no year folder {year!r} with {annotations_dir}/", path=str(root))


def subfolders(folder: Folder) -> list[Folder]:
    """The folders in ``folder``, by name (one listing: no question per entry to a remote store)."""
    return [folder / name for name in sorted(name for name, is_folder in list_folder(str(folder)) if is_folder)]


def _read_list(path: Folder, *, first_token: bool) -> Iterator[str]:
    with io.TextIOWrapper(open_binary(str(path)), encoding="utf-8") as stream:
        for line in stream:
            line = line.strip()
            if line and not line.startswith("#"):
                # <set>.txt holds one id per line; the class lists (aeroplane_train.txt) hold "id flag".
                yield line.split()[0] if first_token else line


def _set_list(folder: Folder, image_set: str) -> tuple[Folder, bool]:
    """The file listing ``image_set``'s ids, and whether ids are its lines' first tokens."""
    sets_dir = folder / SETS_DIR
    listing = sets_dir / f"{image_set}.txt"
    if listing.is_file():
        return listing, False
    # The OD API script reads aeroplane_<set>.txt, which lists every image of the set with a class flag.
    classlist_items = sets_dir / f"aeroplane_{image_set}.txt"
    if classlist_items.is_file():
        return classlist_items, True
    raise FormatError(f"no image set list {image_set}.txt", path=str(sets_dir))


_CLASS_LIST_ENDINGS = tuple(f"_{name}" for name in SETS)  # aeroplane_train.txt: a class list, not a subset


def _subset_names(folder: Folder) -> list[str]:
    """The subset lists of ImageSets/Main (class lists skipped), trainval last: it is train + val, so it only
    names the subset of ids in neither."""
    sets_dir = folder / SETS_DIR
    if not sets_dir.is_dir():
        return []
    names = sorted(
        name[:-4]
        for name, is_folder in list_folder(str(sets_dir))
        if name.endswith(".txt") and not is_folder and not name[:-4].endswith(_CLASS_LIST_ENDINGS)
    )
    names.sort(key=lambda name: name == "trainval")
    return names


def _xml_files(annotations: Folder) -> Iterator[tuple[int, str, str]]:
    """(folder rank, file name, item id) of every XML under ``annotations``, folders numbered in the order
    ``os.walk`` with sorted sub-folders visits them; files unsorted (scandir streams, a listing is not held)."""
    pending = [(str(annotations), "")]
    rank = 0
    while pending:
        directory, relative = pending.pop(0)
        subfolders = []
        for name, is_folder in list_folder(directory, follow_links=False):  # as os.walk: links are not entered
            if is_folder:
                subfolders.append(name)
            elif name.endswith(".xml"):
                yield rank, name, relative + name[:-4]
        rank += 1
        # Depth first, as os.walk: this folder's sub-folders come next, in name order.
        pending[:0] = [(join_path(directory, name), f"{relative}{name}/") for name in sorted(subfolders)]


def list_items(folders: list[Folder], image_set: str | None, annotations_dir: str) -> Iterator[tuple[Folder, str, str]]:
    """(year folder, item id, subset) of every item. With ``image_set``: its list, in order. Without: every XML
    (in os.walk order, names sorted) with its subset from the ImageSets lists, then listed ids without an XML
    (images without objects: Datumaro writes no XML for those). The ids are sorted and matched in a temporary
    SQLite database, not in memory: 100k ids would hold ~30 MB as Python strings, dicts and tuples."""
    for folder in folders:
        if image_set is not None:
            listing, first_token = _set_list(folder, image_set)
            for item_id in _read_list(listing, first_token=first_token):
                yield folder, item_id, image_set
            continue
        with contextlib.closing(sqlite3.connect("")) as database:  # "": a private temporary file, removed on close
            database.execute("PRAGMA journal_mode = OFF")
            database.execute("PRAGMA cache_size = -256")  # KiB: a bounded page cache, whatever the size
            database.execute("CREATE TABLE listed (id TEXT PRIMARY KEY, subset TEXT)")
            for name in _subset_names(folder):  # the first list naming an id gives its subset
                ids = _read_list(folder / SETS_DIR / f"{name}.txt", first_token=False)
                database.executemany("INSERT OR IGNORE INTO listed VALUES (?, ?)", ((i, name) for i in ids))
            database.execute("CREATE TABLE xml (rank INTEGER, name TEXT, id TEXT)")
            database.executemany("INSERT INTO xml VALUES (?, ?, ?)", _xml_files(folder / annotations_dir))
            database.execute("CREATE INDEX xml_order ON xml (rank, name)")
            database.execute("CREATE INDEX xml_id ON xml (id)")
            # SQLite's text order (UTF-8 bytes) is Python's str order (code points).
            yield from (
                (folder, item_id, subset)
                for item_id, subset in database.execute(
                    "SELECT xml.id, COALESCE(listed.subset, 'default') FROM xml LEFT JOIN listed USING (id)"
                    " ORDER BY xml.rank, xml.name"
                )
            )
            yield from (
                (folder, item_id, subset)
                for item_id, subset in database.execute(
                    "SELECT id, subset FROM listed WHERE id NOT IN (SELECT id FROM xml) ORDER BY rowid"
                )
            )
