"""Write tests/bad/: one small file (or folder) per kind of defect. The files are committed; this script says
exactly how each was made, and ``python tests/bad/make_bad_corpus.py`` rebuilds them byte for byte.

tests/test_bad_corpus.py holds what each must raise: error class, message fragment, place (record, byte, line).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _records(*payloads: bytes) -> bytes:
    from tfodkit.records import RecordWriter

    out = io.BytesIO()
    with RecordWriter.to_stream(out) as writer:
        for payload in payloads:
            writer.write(payload)
    return out.getvalue()


def _example(xmin: float = 0.1, xmax: float = 0.5, ymin: float = 0.2, ymax: float = 0.6, **extra: object) -> bytes:
    from tfodkit.example import encode_example

    features: dict[str, object] = {
        "image/filename": [b"a.jpg"],
        "image/source_id": [b"a.jpg"],
        "image/height": [48],
        "image/width": [64],
        "image/encoded": [b""],
        "image/format": [b""],
        "image/key/sha256": [b""],
        "image/object/bbox/xmin": np.array([0.0, xmin], np.float32),
        "image/object/bbox/xmax": np.array([0.2, xmax], np.float32),
        "image/object/bbox/ymin": np.array([0.0, ymin], np.float32),
        "image/object/bbox/ymax": np.array([0.2, ymax], np.float32),
        "image/object/class/label": [1, 2],
        "image/object/class/text": [b"car", b"person"],
    }
    features.update(extra)
    return encode_example(features)


def _voc_xml(name: str = "car", body: str | None = None) -> str:
    if body is None:
        body = (
            f"<object><name>{name}</name><difficult>0</difficult>"
            "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
        )
    return (
        f"<annotation>\n  <filename>a.jpg</filename>\n  <size><width>64</width><height>48</height>"
        f"<depth>3</depth></size>\n  {body}\n</annotation>\n"
    )


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> None:
    """A zip with fixed member times; the int is extra external attributes (a symlink's mode)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content, attributes in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = attributes
            archive.writestr(info, content)


def build(target: Path = HERE) -> None:
    good = _example()
    two = _records(good, good)

    # --- TFRecord container
    (target / "truncated.tfrecord").write_bytes(two[: len(two) - 40])  # second record cut inside its data
    flipped = bytearray(two)
    flipped[len(two) - 30] ^= 0x01  # a data byte of record 1: its data CRC no longer matches
    (target / "bad_crc.tfrecord").write_bytes(bytes(flipped))
    length = struct.pack("<Q", 1 << 40)  # 1 TiB announced, with a valid length CRC: only the size check stops it
    from tfodkit.records import masked_crc32c

    huge = _records(good) + length + struct.pack("<I", masked_crc32c(length)) + b"\x00" * 20
    (target / "huge_length.tfrecord").write_bytes(huge)

    # --- tf.train.Example
    feature = b"\x0f\x0a\x01\x01"  # tag 0x0f: field 1 with wire type 7, which protobuf does not have
    entry = b"\x0a\x01x\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    wrong_wire = b"\x0a" + bytes([len(features)]) + features
    (target / "wrong_wire_type.tfrecord").write_bytes(_records(good, wrong_wire))

    # --- detection schema
    (target / "nan_boxes.tfrecord").write_bytes(_records(good, _example(xmin=float("nan"))))
    (target / "xmin_gt_xmax.tfrecord").write_bytes(_records(good, good, _example(xmin=0.9, xmax=0.3)))
    mismatched = _example(**{"image/object/class/label": [1, 2, 3]})
    (target / "list_lengths.tfrecord").write_bytes(_records(mismatched))

    # --- label maps
    (target / "broken.pbtxt").write_text("item {\n  id: 1\n  name: 'car'\n}\nitem {\n  id: 2\n  name: 'person\n}\n")
    (target / "duplicate_ids.pbtxt").write_text("item { id: 1 name: 'car' }\nitem { id: 1 name: 'person' }\n")
    (target / "good.tfrecord").write_bytes(_records(good))

    # --- VOC
    for folder in ("voc_label_not_in_map", "voc_broken_xml", "voc_nan_box"):
        shutil.rmtree(target / folder, ignore_errors=True)
        (target / folder / "Annotations").mkdir(parents=True)
    (target / "voc_label_not_in_map" / "Annotations" / "000001.xml").write_text(_voc_xml("truck"))
    (target / "voc_label_not_in_map" / "label_map.pbtxt").write_text("item { id: 1 name: 'car' }\n")
    (target / "voc_broken_xml" / "Annotations" / "000001.xml").write_text(_voc_xml().replace("</size>", "</siz>"))
    nan_box = (
        "<object><name>car</name><bndbox><xmin>nan</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
    )
    (target / "voc_nan_box" / "Annotations" / "000001.xml").write_text(_voc_xml(body=nan_box))

    # --- CVAT XML
    (target / "cvat_broken.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
        '  <image id="0" name="a.jpg" width="64" height="48">\n'
        '    <box label="car" xtl="1" ytl="2" xbr="30" ybr="40">\n  </image>\n</annotations>\n'
    )
    (target / "cvat_xxe.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE annotations [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        '<annotations><image id="0" name="&secret;" width="4" height="4"/></annotations>\n'
    )

    # --- COCO
    shutil.rmtree(target / "coco_missing_keys", ignore_errors=True)
    (target / "coco_missing_keys" / "annotations").mkdir(parents=True)
    document = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": "b.jpg"},
        ],  # no width, height
        "annotations": [],
        "categories": [{"id": 1, "name": "car"}],
    }
    (target / "coco_missing_keys" / "annotations" / "instances_default.json").write_text(json.dumps(document))

    # --- zips
    pbtxt = b"item {\n  id: 1\n  name: 'car'\n}\n"
    _zip(target / "zip_slip.zip", [("default.tfrecord", two, 0), ("../evil.tfrecord", two, 0)])
    _zip(target / "zip_absolute.zip", [("/tmp/evil.tfrecord", two, 0)])
    _zip(target / "zip_symlink.zip", [("default.tfrecord", b"/etc/passwd", 0o120777 << 16)])
    _zip(
        target / "zip_duplicate.zip",
        [("default.tfrecord", two, 0), ("label_map.pbtxt", pbtxt, 0), ("default.tfrecord", b"", 0)],
    )
    with zipfile.ZipFile(target / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("default.tfrecord", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, b"\x00" * (64 << 20))  # 64 MiB of zeros deflate ~1030:1 into ~64 KiB


if __name__ == "__main__":
    sys.exit(build())
