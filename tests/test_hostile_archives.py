"""Zips from strangers: hostile member names, links, duplicates, bombs and lying sizes are refused, read as
streams, never extracted; the size and ratio limits are configurable (keywords, module attributes, environment).

Both zip importers are checked: the CVAT "TFRecord 1.0" archive (cvat_zip) and CVAT XML's export zip (cvat_xml).
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tfodkit import archive as archive_module
from tfodkit.archive import open_member, safe_members
from tfodkit.errors import FormatError, TfodError, UnsafeArchiveError
from tfodkit.formats import cvat_xml, cvat_zip
from tfodkit.formats.tfod import item_to_example
from tfodkit.model import ImageRef, Item, LabelMap, Objects
from tfodkit.records import RecordWriter

LABELS = LabelMap.from_names(["car"])
CVAT_XML = (
    b'<?xml version="1.0"?><annotations><version>1.1</version><image id="0" name="a.jpg" width="8" '
    b'height="6"><box label="car" xtl="1" ytl="1" xbr="4" ybr="3"/></image></annotations>'
)


def records(count: int = 2) -> bytes:
    out = io.BytesIO()
    with RecordWriter.to_stream(out) as writer:
        for index in range(count):
            image = ImageRef(f"i{index}.jpg", width=8, height=6)
            item = Item(f"i{index}", image, Objects.from_boxes([[1, 1, 4, 3]], [1]))
            writer.write(item_to_example(item, LABELS))
    return out.getvalue()


def make_zip(
    path: Path, members: list[tuple[str, bytes]], *, symlink: str | None = None, compression: int = zipfile.ZIP_STORED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            if name == symlink:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, content)
    return path


def read_all(reader: str, path: Path) -> list[Item]:
    if reader == "cvat_zip":
        return list(cvat_zip.read(str(path)))
    return list(cvat_xml.read(str(path)))


def payload(reader: str) -> tuple[str, bytes]:
    return ("default.tfrecord", records()) if reader == "cvat_zip" else ("annotations.xml", CVAT_XML)


READERS = ["cvat_zip", "cvat_xml"]
HOSTILE_NAMES = {
    "parent": "../evil.tfrecord",
    "deep parent": "a/../../evil.tfrecord",
    "absolute": "/tmp/evil.tfrecord",
    "windows drive": "C:/evil.tfrecord",
    "windows drive, backslash": "C:\\evil.tfrecord",
    "backslash parent": "..\\evil.tfrecord",
    "parent inside": "images/../../../evil.jpg",
}


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", list(HOSTILE_NAMES))
def test_a_name_that_leaves_the_archive_is_refused(tmp_path: Path, reader: str, kind: str) -> None:
    name = HOSTILE_NAMES[kind]
    upload = tmp_path / "uploads" / "task.zip"
    upload.parent.mkdir()
    make_zip(upload, [payload(reader), (name, records(1))])
    before = files_under(tmp_path)
    with pytest.raises(UnsafeArchiveError, match="points outside the archive") as caught:
        read_all(reader, upload)
    assert caught.value.path == str(upload)
    assert repr(name) in str(caught.value)
    assert files_under(tmp_path) == before  # nothing was extracted anywhere
    assert not Path("/tmp/evil.tfrecord").exists()


@pytest.mark.parametrize("reader", READERS)
def test_a_symbolic_link_member_is_refused(tmp_path: Path, reader: str) -> None:
    members = [payload(reader), ("link.tfrecord", b"/etc/passwd")]
    upload = make_zip(tmp_path / "task.zip", members, symlink="link.tfrecord")
    with pytest.raises(UnsafeArchiveError, match="'link.tfrecord' is a symbolic link"):
        read_all(reader, upload)


@pytest.mark.parametrize(
    ("reader", "second"),
    [
        ("cvat_zip", "default.tfrecord"),
        ("cvat_zip", "./default.tfrecord"),
        ("cvat_xml", "annotations.xml"),
        ("cvat_xml", "./annotations.xml"),
    ],
)
def test_a_name_given_twice_is_refused(tmp_path: Path, reader: str, second: str) -> None:
    import warnings

    first = payload(reader)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about writing a duplicate name
        upload = make_zip(tmp_path / "task.zip", [first, (second, first[1])])
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        read_all(reader, upload)


def test_an_empty_member_name_is_refused(tmp_path: Path) -> None:
    upload = tmp_path / "task.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(zipfile.ZipInfo("default.tfrecord"), records())
        archive.writestr(zipfile.ZipInfo(""), b"x")  # zipfile writes it; its own is_dir() then fails on it
    with pytest.raises(UnsafeArchiveError, match="empty name"):
        read_all("cvat_zip", upload)


def zeros_zip(path: Path, size: int, name: str = "default.tfrecord") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), b"\x00" * size, compress_type=zipfile.ZIP_DEFLATED
        )
    return path


@pytest.mark.parametrize("reader", READERS)
def test_a_zip_bomb_stops_before_any_member_is_decompressed(
    tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "default.tfrecord" if reader == "cvat_zip" else "annotations.xml"
    bomb = zeros_zip(tmp_path / "bomb.zip", 48 << 20, name)  # 48 MiB of zeros in ~47 KiB
    assert bomb.stat().st_size < 100_000
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def watched_open(self: zipfile.ZipFile, member: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(member, "filename", member))  # type: ignore[arg-type]
        return real_open(self, member, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", watched_open)
    with pytest.raises(UnsafeArchiveError, match=r"compresses 10\d\d:1, beyond 1000:1 \(a zip bomb\?\)"):
        read_all(reader, bomb)
    assert opened == []  # refused from the central directory alone: no byte was inflated


def test_the_ratio_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 MiB of a short repeated pattern: ~300:1, under the default limit, over a strict one.
    upload = tmp_path / "task.zip"
    with zipfile.ZipFile(upload, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", b"0123456789abcdef" * (1 << 17))
        archive.writestr("default.tfrecord", records())
    assert len(list(cvat_zip.read(str(upload)))) == 2
    with zipfile.ZipFile(upload) as opened:
        with pytest.raises(UnsafeArchiveError, match="beyond 50:1"):
            safe_members(opened, str(upload), max_ratio=50)
    monkeypatch.setattr(archive_module, "DEFAULT_MAX_RATIO", 50)
    with pytest.raises(UnsafeArchiveError, match="'notes.txt' compresses"):
        cvat_zip.read(str(upload))


def test_the_total_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upload = make_zip(tmp_path / "task.zip", [("default.tfrecord", records()), ("b.tfrecord", records())])
    total = sum(info.file_size for info in zipfile.ZipFile(upload).infolist())
    with zipfile.ZipFile(upload) as opened:
        assert len(safe_members(opened, str(upload), max_total_bytes=total)) == 2
        with pytest.raises(UnsafeArchiveError, match=f"more than {total - 1} bytes"):
            safe_members(opened, str(upload), max_total_bytes=total - 1)
    monkeypatch.setattr(archive_module, "DEFAULT_MAX_TOTAL_BYTES", 100)
    with pytest.raises(UnsafeArchiveError, match="members unpack to more than 100 bytes"):
        cvat_zip.read(str(upload))


def test_the_limits_come_from_the_environment_for_the_command(tmp_path: Path) -> None:
    upload = make_zip(tmp_path / "task.zip", [("default.tfrecord", records())])
    target = tmp_path / "out.tfrecord"
    command = [sys.executable, "-m", "tfodkit", "convert", str(upload), str(target), "--to", "tfrecord", "-q"]
    strict = dict(os.environ, TFODKIT_MAX_UNPACKED_BYTES="10")
    refused = subprocess.run(command, capture_output=True, text=True, env=strict)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"tfod: error: {upload}: members unpack to more than 10 bytes (raise the limit if this is expected)"
    )
    assert not target.exists()
    accepted = subprocess.run(command, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr
    assert target.exists()


def lying_zip(path: Path, content: bytes, declared: int) -> Path:
    """A stored member whose headers declare ``declared`` bytes while ``content`` is longer."""
    make_zip(path, [("default.tfrecord", content)])
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)  # local header: uncompressed size
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)  # central directory: uncompressed size
    path.write_bytes(bytes(data))
    return path


def test_a_member_never_yields_more_than_it_declares(tmp_path: Path) -> None:
    content = records(3)
    upload = lying_zip(tmp_path / "task.zip", content, declared=100)
    with zipfile.ZipFile(upload) as opened:
        info = safe_members(opened, str(upload))[0]
        assert info.file_size == 100
        with pytest.raises(TfodError) as caught:
            with open_member(opened, info, str(upload)) as stream:
                got = b""
                while chunk := stream.read(7):
                    got += chunk
                    assert len(got) <= 100
        assert isinstance(caught.value, (FormatError, UnsafeArchiveError))
    with pytest.raises(TfodError):
        list(cvat_zip.read(str(upload)))


def test_a_good_archive_is_read_as_a_stream_without_extracting(tmp_path: Path) -> None:
    upload = make_zip(
        tmp_path / "task.zip",
        [("train.tfrecord", records(3)), ("val.tfrecord", records(1))],
        compression=zipfile.ZIP_DEFLATED,
    )
    before = files_under(tmp_path)
    items = list(cvat_zip.read(str(upload)))
    expected = [("train", "i0"), ("train", "i1"), ("train", "i2"), ("val", "i0")]
    assert [(item.subset, item.id) for item in items] == expected
    assert files_under(tmp_path) == before


def test_a_damaged_member_is_a_typed_error_naming_it(tmp_path: Path) -> None:
    upload = make_zip(tmp_path / "task.zip", [("default.tfrecord", records(3))], compression=zipfile.ZIP_DEFLATED)
    data = bytearray(upload.read_bytes())
    start = data.index(b"default.tfrecord") + len("default.tfrecord")
    data[start + 20] ^= 0xFF  # inside the deflate stream
    upload.write_bytes(bytes(data))
    with pytest.raises(TfodError) as caught:
        list(cvat_zip.read(str(upload)))
    assert str(upload) in str(caught.value)
