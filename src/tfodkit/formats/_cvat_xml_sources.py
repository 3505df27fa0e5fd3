"""Where CVAT XML documents and their images live: one ``.xml`` file, a folder (``annotations.xml``, or Datumaro's
``<subset>.xml`` files), a zip archive, or an fsspec URL of any of these; and the hardened parser that reads them.

The parser refuses a DOCTYPE (no XXE, no billion laughs), uses no network and no huge text nodes; zip members
are checked by :mod:`tfodkit.archive`. Images inside a zip are read lazily through fsspec's ``zip://`` URL.

Example:
    >>> import io
    >>> root_tag(io.BytesIO(b"<annotations><version>1.1</version></annotations>"))
    'annotations'
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from tfodkit.errors import FormatError, UsageError
from tfodkit.model import ImageRef
from tfodkit.storage import is_file, is_url, join_path, open_input

ANNOTATIONS_XML = "annotations.xml"
IMAGES_FOLDER = "images"  # beside the XML (or in the zip): images/<name>, or images/<subset>/<name>


_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def iterparse(stream: IO[bytes], where: str, tags: tuple[str, ...] | None = None) -> Iterator[Any]:
    """Elements at their ``end`` event (only ``tags`` when given); a DOCTYPE, a non-CVAT root or bad XML is a
    FormatError. Filtering by tag keeps Python out of the per-element work (lxml still builds the elements:
    the caller clears them); :func:`read` checks the root with an unfiltered pass first, so a foreign
    document never gets parsed whole."""
    events = etree.iterparse(stream, events=("end",), tag=tags, **_PARSER_OPTIONS)
    checked = False
    try:
        for _event, element in events:
            if not checked:
                tree = element.getroottree()
                if tree.docinfo.doctype:
                    raise FormatError(
                        "the XML declares a DOCTYPE; CVAT files have none and DTD entities are refused (XXE)",
                        path=where,
                        line=1,
                    )
                root = tree.getroot()
                if root.tag != "annotations":
                    raise FormatError(
                        f"the root element is <{root.tag}>, expected <annotations> (CVAT for images)",
                        path=where,
                        line=root.sourceline,
                    )
                checked = True
            yield element
    except etree.XMLSyntaxError as error:
        raise FormatError(f"not well-formed XML: {error.msg}", path=where, line=error.lineno) from None


def root_tag(stream: IO[bytes]) -> str | None:
    try:
        for _event, element in etree.iterparse(stream, events=("start",), **_PARSER_OPTIONS):
            return str(element.tag)
    except (etree.XMLSyntaxError, OSError, ValueError):
        return None
    return None


@dataclass(frozen=True)
class XmlSource:
    """One CVAT XML document: where it is (for messages), how to open it, the subset its file name implies."""

    where: str
    member: str | None  # the member name inside the zip, or None for a file
    file: str | None  # the file path (or URL), or None for a zip member
    stem_subset: str | None  # "train" for train.xml (Datumaro writes one XML per subset), else None


@dataclass
class Container:
    """Where the XML documents and images live: a folder (or a single file) or a zip archive."""

    path: str
    sources: list[XmlSource]
    base: str | None = None  # the folder the XML sits in (images are looked up from it)
    zip_path: str | None = None

    @contextmanager
    def opened(self) -> Iterator[zipfile.ZipFile | None]:
        if self.zip_path is None:
            yield None
            return
        from tfodkit.archive import open_zip

        with open_zip(self.zip_path) as archive:
            yield archive

    def open_source(self, source: XmlSource, archive: zipfile.ZipFile | None) -> IO[bytes]:
        if archive is not None and source.member is not None:
            from tfodkit.archive import open_member

            return open_member(archive, archive.getinfo(source.member), self.path)  # type: ignore[return-value]
        assert source.file is not None
        return open_input(source.file)


def stem_subset(name: str) -> str | None:
    stem = posixpath.splitext(posixpath.basename(name))[0]
    return None if stem == posixpath.splitext(ANNOTATIONS_XML)[0] else stem


def container_of(path: str) -> Container:
    if is_url(path):
        if path.lower().endswith(".zip"):
            return zipcontainer(path)  # read with range requests, images lazily through zip://…::URL
        if path.lower().endswith(".xml"):
            return Container(path, [XmlSource(path, None, path, stem_subset(path))], base=posixpath.dirname(path))
        main = join_path(path, ANNOTATIONS_XML)
        if not is_file(main):
            raise UsageError(f"{path}: give the URL of a CVAT annotations.xml, a folder holding one, or a .zip")
        return Container(path, [XmlSource(main, None, main, None)], base=path.rstrip("/"))
    if os.path.isdir(path):
        return foldercontainer(path)
    if not os.path.exists(path):
        raise FormatError("no such file or folder", path=path)
    try:
        is_zip = zipfile.is_zipfile(path)
    except (
        zipfile.BadZipFile
    ):  # CPython's is_zipfile raises on a multi-disk end record (found by fuzz/fuzz_cvat_xml.py)
        is_zip = True  # then open_zip names the problem as a FormatError
    if is_zip:
        return zipcontainer(path)
    return Container(path, [XmlSource(path, None, path, stem_subset(path))], base=os.path.dirname(path) or ".")


def foldercontainer(folder: str) -> Container:
    main = os.path.join(folder, ANNOTATIONS_XML)
    if os.path.isfile(main):
        return Container(folder, [XmlSource(main, None, main, None)], base=folder)
    candidates = sorted(name for name in os.listdir(folder) if name.lower().endswith(".xml"))
    sources = []
    for name in candidates:
        file = os.path.join(folder, name)
        with open(file, "rb") as stream:
            if root_tag(stream) == "annotations":
                sources.append(XmlSource(file, None, file, stem_subset(name)))
    if not sources:
        raise FormatError(f"no CVAT {ANNOTATIONS_XML} (or <subset>.xml with an <annotations> root)", path=folder)
    return Container(folder, sources, base=folder)


def zipcontainer(path: str) -> Container:
    from tfodkit.archive import open_member, open_zip, safe_members

    with open_zip(path) as archive:
        members = [info.filename for info in safe_members(archive, path)]
        top_level = sorted(name for name in members if "/" not in name and name.lower().endswith(".xml"))
        if ANNOTATIONS_XML in top_level:
            chosen = [ANNOTATIONS_XML]
        else:
            chosen = []
            for name in top_level:
                with open_member(archive, archive.getinfo(name), path) as stream:
                    if root_tag(stream) == "annotations":  # type: ignore[arg-type]
                        chosen.append(name)
    if not chosen:
        raise FormatError(f"the archive holds no {ANNOTATIONS_XML}", path=path)
    sources = [XmlSource(f"{path}!{name}", name, None, stem_subset(name)) for name in chosen]
    return Container(path, sources, zip_path=path if is_url(path) else os.path.abspath(path))


def image_locator(
    container: Container, archive: zipfile.ZipFile | None, images_dir: str | None
) -> Callable[[str, str, int | None, int | None], ImageRef]:
    def locate(name: str, subset: str, width: int | None, height: int | None) -> ImageRef:
        if images_dir is not None:
            joined = posixpath.join(images_dir, name) if is_url(images_dir) else os.path.join(images_dir, name)
            return ImageRef(name, path=joined, width=width, height=height)
        if archive is not None:
            return zip_image(container, archive, name, subset, width, height)
        base = container.base or "."
        if is_url(base):
            return ImageRef(name, path=posixpath.join(base, IMAGES_FOLDER, name), width=width, height=height)
        for candidate in (
            os.path.join(base, IMAGES_FOLDER, name),
            os.path.join(base, IMAGES_FOLDER, subset, name),
            os.path.join(base, name),
        ):
            if os.path.isfile(candidate):
                return ImageRef(name, path=candidate, width=width, height=height)
        return ImageRef(name, width=width, height=height)

    return locate


def zip_image(
    container: Container, archive: zipfile.ZipFile, name: str, subset: str, width: int | None, height: int | None
) -> ImageRef:
    for member in (f"{IMAGES_FOLDER}/{name}", f"{IMAGES_FOLDER}/{subset}/{name}", name):
        if member not in archive.NameToInfo:
            continue
        if "::" in member:  # fsspec's URL chaining cannot name it: read this one image's bytes now
            from tfodkit.archive import iter_chunks, open_member

            with open_member(archive, archive.getinfo(member), container.path) as stream:
                data = b"".join(iter_chunks(stream, f"{container.path}!{member}"))
            return ImageRef(name, data=data, width=width, height=height)
        # Lazy: the bytes are read when (and if) a step needs them, through fsspec's zip filesystem.
        return ImageRef(name, path=f"zip://{member}::{container.zip_path}", width=width, height=height)
    return ImageRef(name, width=width, height=height)
