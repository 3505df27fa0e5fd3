"""Fuzz the zip importers: CVAT "TFRecord 1.0" archives (and CVAT XML zips) from strangers.

Two kinds of input, by the first byte's low bit:

- raw: the rest is the archive's bytes (mutations of real archives reach zipfile's parsing, CRC checks,
  truncated members, broken deflate streams);
- built: the rest describes members — ``name length, name, flags, content length (2 bytes), content`` each —
  and the harness writes a well-formed zip of them, so hostile names (``../x``, ``/abs``, ``C:``, duplicates),
  symlink and directory entries, deflated or stored members and record/label-map content reach the
  checks of ``tfodkit.archive`` and the record reader behind them.

Opening the archive and iterating every item (lazy parts forced) must give items or a ``TfodError``. Bit 1
also reads the archive as a CVAT XML zip.
"""

from __future__ import annotations

import io
import os
import zipfile

from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.formats import cvat_xml, cvat_zip

DICTIONARIES = ["zip"]
_SCRATCH: list[str] = []
_SYMLINK = 0o120777 << 16
_FLAG_DEFLATE, _FLAG_SYMLINK, _FLAG_DIRECTORY = 1, 2, 4


def build_zip(description: bytes) -> bytes:
    """A well-formed zip of the members ``description`` lists (see the module docstring)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        pos = 0
        while pos < len(description):
            name_length = description[pos]
            name = description[pos + 1 : pos + 1 + name_length].decode("utf-8", "replace") or "x"
            pos += 1 + name_length
            flags = description[pos] if pos < len(description) else 0
            size = int.from_bytes(description[pos + 1 : pos + 3], "little")
            content = description[pos + 3 : pos + 3 + size]
            pos += 3 + size
            if flags & _FLAG_DIRECTORY and not name.endswith("/"):
                name += "/"
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if flags & _FLAG_DEFLATE else zipfile.ZIP_STORED
            if flags & _FLAG_SYMLINK:
                info.external_attr = _SYMLINK
            archive.writestr(info, content)
    return buffer.getvalue()


def describe(members: list[tuple[str, int, bytes]]) -> bytes:
    """The description bytes of ``(name, flags, content)`` members (for seeds and tests)."""
    out = bytearray()
    for name, flags, content in members:
        encoded = name.encode()
        out += bytes([len(encoded)]) + encoded + bytes([flags]) + len(content).to_bytes(2, "little") + content
    return bytes(out)


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0], data[1:]
    archive = body if mode & 1 else build_zip(body)
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
    path = os.path.join(_SCRATCH[0], "upload.zip")
    with open(path, "wb") as out:
        out.write(archive)
    for detect in (cvat_zip.detect, cvat_xml.detect):  # detection must answer, never raise
        if not isinstance(detect(path), bool):
            raise AssertionError(f"{detect.__module__}.detect did not return a bool")
    if mode & 2:
        for item in cvat_xml.read(path):
            touch_item(item)
        return
    for item in cvat_zip.read(path):
        touch_item(item)


def seeds() -> list[bytes]:
    from tfodkit.formats.tfod import item_to_example
    from tfodkit.labelmap import format_label_map
    from tfodkit.model import ImageRef, Item, LabelMap, Objects
    from tfodkit.records import RecordWriter

    label_map = LabelMap.from_names(["car", "person"])
    item = Item("a", ImageRef("a.jpg", width=8, height=6), Objects.from_boxes([[1, 1, 4, 3], [0, 0, 8, 6]], [1, 2]))
    records = io.BytesIO()
    with RecordWriter.to_stream(records) as writer:
        writer.write(item_to_example(item, label_map, save_images=False))
        writer.write(item_to_example(Item("b", ImageRef("b.png", width=2, height=2)), label_map))
    record_bytes = records.getvalue()
    pbtxt = format_label_map(label_map).encode()
    cvat_document = (b'<?xml version="1.0"?><annotations><version>1.1</version><image id="0" name="a.jpg" '
                     b'width="8" height="6"><box label="car" xtl="1" ytl="1" xbr="4" ybr="3"/></image></annotations>')
    described = [
        describe([("default.tfrecord", 0, record_bytes), ("label_map.pbtxt", 1, pbtxt)]),
        describe([("train.tfrecord", 1, record_bytes), ("val.tfrecord", 0, record_bytes)]),
        describe([("../evil.tfrecord", 0, record_bytes)]),
        describe([("link.tfrecord", _FLAG_SYMLINK, b"/etc/passwd"), ("a.tfrecord", 0, record_bytes)]),
        describe([("d", _FLAG_DIRECTORY, b""), ("d/x.tfrecord", 1, record_bytes), ("d/x.tfrecord", 0, b"")]),
    ]
    seeds = [b"\x00" + body for body in described]
    seeds += [b"\x01" + build_zip(body) for body in described[:2]]
    seeds.append(b"\x02" + describe([("annotations.xml", 1, cvat_document), ("images/a.jpg", 0, b"\xff\xd8\xff")]))
    return seeds


if __name__ == "__main__":
    fuzz_main(test_one_input)
