"""CVAT "TFRecord 1.0" archives: ``NAME.zip/{<subset>.tfrecord…, label_map.pbtxt}``.

Export writes one ``<subset>.tfrecord`` per subset (``default.tfrecord`` without subsets) and the label map,
label ids from 1 in the dataset's label order; with ``save_images`` the original image bytes go into
``image/encoded`` unchanged, otherwise encoded/format/sha256 are present and empty, as CVAT writes them.
``save_images`` not given embeds when the input carries image bytes (records, zips) and not when its images
are files beside the annotations (CVAT's default; the images not embedded are counted as a loss).

As CVAT's "TFRecord 1.0" export (Datumaro's tf_detection_api exporter) does, rectangles are written as boxes
and polygons only as masked objects: an object with polygons and no mask (``--masks polygons`` gives it one)
is left out and counted as a loss, never written as an extra box.
Import reads every ``*.tfrecord`` member of any name (member stem = subset) straight from the archive, with or
without a label map.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from tfodkit.archive import open_member, open_zip, safe_members
from tfodkit.errors import FormatError, UsageError
from tfodkit.formats import IMAGES_DIR, LABEL_MAP, SAVE_IMAGES, tfod, tfod_files
from tfodkit.formats._files import embeds_images
from tfodkit.labelmap import parse_label_map, read_label_map
from tfodkit.losses import Tally
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.records import read_records
from tfodkit.storage import OutputSet, atomic_file, is_url, work_folder_prefix

# Keywords of read() / write(), and the tfod flags that set them (see tfodkit.formats.Option).
READ_OPTIONS = (LABEL_MAP, IMAGES_DIR)
WRITE_OPTIONS = (SAVE_IMAGES.with_default(None),)  # None: embed when the input holds the bytes


def detect(path: str) -> bool:
    """A ``.zip`` holding at least one ``.tfrecord`` member."""
    if not str(path).lower().endswith(".zip") or not os.path.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(tfod_files.is_record_name(PurePosixPath(name).name) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError, EOFError):  # all seen from zipfile (fuzz_zip)
        return False


def write(dataset: Dataset, path: str, *, save_images: bool | None = None, workers: int = 1) -> None:
    """Export ``dataset`` as a CVAT "TFRecord 1.0" zip, atomically.

    Example:
        >>> import tempfile, os
        >>> from tfodkit.model import ImageRef, Objects
        >>> target = os.path.join(tempfile.mkdtemp(), "task.zip")
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
        >>> write(Dataset(items, LabelMap.from_names(["cat"])), target)
        >>> sorted(zipfile.ZipFile(target).namelist())
        ['default.tfrecord', 'label_map.pbtxt']
    """
    if not str(path).lower().endswith(".zip"):
        raise UsageError(f"{path}: a CVAT TFRecord archive is a .zip file")
    if save_images is None:
        save_images = embeds_images(dataset)
    exported = Dataset(
        functools.partial(_without_unmasked_polygons, dataset),
        dataset.label_map,
        name=dataset.name,
        length=dataset.length,
    )
    # The first record file goes straight into its zip member; records of other subsets (while that member is
    # open) are staged beside a local target (same disk, cheap to clean up) or in the temp folder for a URL, and
    # added after it. atomic_file puts the zip in place (uploading it for a URL) only when all went well.
    staging_parent = None
    if not is_url(path):
        staging_parent = Path(path).parent
        staging_parent.mkdir(parents=True, exist_ok=True)
    # Embedded JPEG/PNG do not deflate: store them; records of boxes alone deflate ~10:1.
    compression = zipfile.ZIP_STORED if save_images else zipfile.ZIP_DEFLATED
    with (
        tempfile.TemporaryDirectory(prefix=work_folder_prefix("staging"), dir=staging_parent) as staging,
        atomic_file(path) as out,
        zipfile.ZipFile(out, "w", compression=compression, allowZip64=True) as archive,
    ):
        first_member = _FirstMember(archive)
        with OutputSet() as outputs:
            files = tfod.write_records(
                exported,
                staging,
                outputs,
                save_images=save_images,
                workers=workers,
                open_stream=first_member.open,
                target_name="cvat-tfrecord",
            )
        for file in sorted(files, key=lambda file: (file.name == tfod_files.LABEL_MAP_NAME, file.name)):
            if file.name != first_member.name:
                _add_member(archive, file)


def _without_unmasked_polygons(dataset: Dataset) -> Iterator[Item]:
    """The items without their objects that have polygons and no mask (CVAT exports polygons only as masks),
    those counted as one loss after the last item."""
    tally = Tally()
    for item in dataset:
        objects = item.objects
        columns = zip(objects.polygons, objects.masks, strict=True)
        keep = [not polygons or mask is not None for polygons, mask in columns]
        if not all(keep):
            tally.add(
                "polygon_not_exported",
                "polygons not exported; --masks polygons exports them as instance masks",
                keep.count(False),
            )
            item = Item(item.id, item.image, objects.select(keep), item.subset, item.attributes)
        yield item
    tally.report()


class _FirstMember:
    """``open_stream`` for ``tfod.write_records``: the first record file asked for is a member of the archive,
    written in place; the others are staged (a zip has one member open for writing at a time)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.name: str | None = None

    def open(self, record_path: Path) -> IO[bytes] | None:
        if self.name is not None:
            return None
        self.name = record_path.name
        return self.archive.open(self.name, "w", force_zip64=True)


def record_members(members: list[zipfile.ZipInfo], path: str) -> list[zipfile.ZipInfo]:
    """The ``.tfrecord`` members of an archive (checked by ``safe_members``) in name order; none is an error."""
    found = sorted(
        (member for member in members if tfod_files.is_record_name(PurePosixPath(member.filename).name)),
        key=lambda member: member.filename,
    )
    if not found:
        raise FormatError("the archive holds no .tfrecord file", path=path)
    return found


def archive_label_map(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], path: str
) -> tuple[LabelMap, str] | None:
    """The archive's ``label_map.pbtxt`` (at any depth) and where it is (``task.zip!label_map.pbtxt``), or None."""
    for member in members:
        if PurePosixPath(member.filename).name == tfod_files.LABEL_MAP_NAME:
            where = f"{path}!{member.filename}"
            with open_member(archive, member, path) as stream:
                return parse_label_map(stream.read(), path=where), where  # bytes: the parser checks UTF-8 and BOM
    return None


def _add_member(archive: zipfile.ZipFile, file: Path) -> None:
    # ZipFile.write copies in 8 KiB pieces; 1 MiB pieces make the copy of embedded images ~3x cheaper.
    with open(file, "rb") as source, archive.open(file.name, "w", force_zip64=True) as member:
        shutil.copyfileobj(source, member, 1 << 20)


def read(path: str, *, label_map: str | None = None, images_dir: str | None = None) -> Dataset:
    """Import a CVAT "TFRecord 1.0" zip (or a folder of ``.tfrecord`` files) as a streaming dataset.

    Labels resolve by ``class/text``, else the label map by ``class/label``, else ``label_<id>``. ``label_map``
    (a path) overrides the archive's own ``label_map.pbtxt``.
    """
    if os.path.isdir(path):
        return tfod.read(path, label_map=label_map, images_dir=images_dir)
    with open_zip(path) as archive:
        members = safe_members(archive, path)
        records = record_members(members, path)
        if label_map is not None:
            labels = read_label_map(label_map)
        else:
            found = archive_label_map(archive, members, path)
            labels = found[0] if found else LabelMap()
    member_names = [member.filename for member in records]
    return Dataset(
        functools.partial(_iterate_items, path, member_names, labels, images_dir),
        labels,
        name=Path(path).stem,
    )


def _iterate_items(path: str, member_names: list[str], labels: LabelMap, images_dir: str | None) -> Iterator[Item]:
    with open_zip(path) as archive:
        for name in member_names:
            info = archive.getinfo(name)
            where = f"{path}!{name}"
            with open_member(archive, info, path) as stream:
                yield from tfod.read_record_stream(
                    read_records(stream, name=where),
                    labels,
                    subset=tfod_files.subset_of(name),
                    where=where,
                    images_dir=images_dir,
                )
