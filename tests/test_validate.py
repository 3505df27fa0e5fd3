"""`tfod validate` on a seeded-defect dataset: one defect of each kind, each found at its record and key, and
nothing found on the clean records."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cli import run

from tfodkit.example import encode_example
from tfodkit.formats import tfod
from tfodkit.inspection.validate import CHECKS, validate
from tfodkit.labelmap import format_label_map
from tfodkit.model import LabelMap, encode_png_mask
from tfodkit.records import RecordWriter
from tfodkit.samples import make_jpeg

WIDTH, HEIGHT = 40, 30
LABELS = LabelMap.from_names(["car", "person"])


def good_features(index: int) -> dict[str, Any]:
    """A record with nothing wrong: real JPEG, sha256, two objects with labels from LABELS, one mask."""
    image = make_jpeg(WIDTH, HEIGHT, seed=index)
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[5:15, 4:20] = True
    name = f"img_{index:03d}.jpg".encode()
    return {
        tfod.FILENAME: [name],
        tfod.SOURCE_ID: [f"{index}".encode()],
        tfod.HEIGHT: [HEIGHT],
        tfod.WIDTH: [WIDTH],
        tfod.ENCODED: [image],
        tfod.FORMAT: [b"jpeg"],
        tfod.SHA256: [hashlib.sha256(image).hexdigest().encode()],
        tfod.XMIN: np.array([0.1, 0.5], np.float32),
        tfod.XMAX: np.array([0.5, 0.9], np.float32),
        tfod.YMIN: np.array([0.1, 0.2], np.float32),
        tfod.YMAX: np.array([0.6, 1.0], np.float32),
        tfod.CLASS_LABEL: np.array([1, 2], np.int64),
        tfod.CLASS_TEXT: [b"car", b"person"],
        tfod.MASK: [encode_png_mask(mask), encode_png_mask(np.zeros((HEIGHT, WIDTH), bool))],
        "image/object/difficult": np.array([0, 1], np.int64),
    }


def _with(index: int, **changes: Any) -> dict[str, Any]:
    features = good_features(index)
    for key, value in changes.items():
        features[key.replace("__", "/")] = value
    return features


def seeded_records() -> tuple[list[dict[str, Any]], set[tuple[str, int | None, str | None]]]:
    """Records 0 and 15 are clean; each other record carries one defect. Returns (features, expected findings)."""
    broken_image = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    records = [
        good_features(0),
        _with(1, **{"image__height": [b"30"]}),
        _with(2, **{"image__object__bbox__xmax": np.array([0.5], np.float32)}),
        _with(3, **{"image__object__bbox__xmax": np.array([0.5, 1.5], np.float32)}),
        _with(4, **{"image__object__bbox__xmin": np.array([0.6, 0.5], np.float32)}),
        _with(5, **{"image__object__bbox__ymin": np.array([np.nan, 0.2], np.float32)}),
        _with(
            6,
            **{
                "image__object__class__label": np.array([1, 9], np.int64),
                "image__object__class__text": [b"car", b"zebra"],
            },
        ),
        _with(7, **{"image__object__class__label": np.array([1, 1], np.int64)}),  # text says person, id 1 is car
        _with(8, **{"image__key__sha256": [b"0" * 64]}),
        _with(
            9,
            **{
                "image__encoded": [broken_image],
                "image__key__sha256": [hashlib.sha256(broken_image).hexdigest().encode()],
            },
        ),
        _with(
            10,
            **{
                "image__width": [WIDTH + 8],
                "image__object__mask": [encode_png_mask(np.ones((HEIGHT, WIDTH + 8), bool))] * 2,
            },
        ),
        _with(11, **{"image__filename": [b"img_000.jpg"]}),
        _with(12, **{"image__source_id": [b"0"]}),
        _with(13, **{"image__object__mask": [encode_png_mask(np.ones((10, 10), bool)), b""]}),
        good_features(14),  # its data gets a flipped byte after writing: a CRC defect
        good_features(15),
    ]
    expected = {
        ("key_type", 1, tfod.HEIGHT),
        ("list_length", 2, tfod.XMAX),
        ("box_range", 3, tfod.XMAX),
        ("box_order", 4, tfod.XMIN),
        ("nan", 5, tfod.YMIN),
        ("label_unknown", 6, tfod.CLASS_LABEL),
        ("label_unknown", 6, tfod.CLASS_TEXT),
        ("label_mismatch", 7, tfod.CLASS_TEXT),
        ("sha256", 8, tfod.SHA256),
        ("image_decode", 9, tfod.ENCODED),
        ("image_size", 10, tfod.ENCODED),
        ("duplicate_filename", 11, tfod.FILENAME),
        ("duplicate_source_id", 12, tfod.SOURCE_ID),
        ("mask_size", 13, tfod.MASK),
        ("crc", 14, None),
    }
    return records, expected


def write_records(path: Path, records: list[dict[str, Any]], *, corrupt: int | None = None) -> None:
    with RecordWriter(str(path)) as writer:
        for features in records:
            writer.write(encode_example(features))
    if corrupt is not None:
        data = bytearray(path.read_bytes())
        position = 0
        for _ in range(corrupt):  # walk the framing to the record to damage
            length = int.from_bytes(data[position : position + 8], "little")
            position += 16 + length
        data[position + 12 + 40] ^= 0x55  # a byte of its data: the data CRC fails
        path.write_bytes(bytes(data))


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, set[tuple[str, int | None, str | None]]]:
    records, expected = seeded_records()
    path = tmp_path / "train.tfrecord"
    write_records(path, records, corrupt=14)
    (tmp_path / "label_map.pbtxt").write_text(format_label_map(LABELS), encoding="utf-8")
    return path, expected


def test_every_seeded_defect_is_found_where_it_is(seeded: tuple[Path, set]) -> None:
    path, expected = seeded
    report = validate(str(path), workers=1)
    found = {(finding.check, finding.record, finding.key) for finding in report.findings}
    assert found == expected
    assert report.records == 15  # 16 written, one lost to the CRC damage
    assert {finding.file for finding in report.findings} == {str(path)}
    crc = next(finding for finding in report.findings if finding.check == "crc")
    assert crc.offset is not None and crc.offset > 0 and "at least 1 record" in crc.message
    assert set(report.counts) <= set(CHECKS)


def test_objects_are_named_in_box_findings(seeded: tuple[Path, set]) -> None:
    path, _ = seeded
    by_check = {finding.check: finding for finding in validate(str(path)).findings}
    assert by_check["box_range"].object == 1
    assert by_check["box_order"].object == 0
    assert by_check["nan"].object == 0
    assert by_check["mask_size"].object == 0


def test_workers_find_the_same(seeded: tuple[Path, set]) -> None:
    path, _ = seeded
    one = validate(str(path), workers=1).as_dict()
    two = validate(str(path), workers=2).as_dict()
    assert one == two


def test_clean_dataset_and_exit_codes(
    tmp_path: Path, seeded: tuple[Path, set], capsys: pytest.CaptureFixture[str]
) -> None:
    clean_folder = tmp_path / "clean"
    clean_folder.mkdir()
    write_records(clean_folder / "train.tfrecord", [good_features(index) for index in range(5)])
    (clean_folder / "label_map.pbtxt").write_text(format_label_map(LABELS), encoding="utf-8")
    assert validate(str(clean_folder)).clean
    assert run("validate", str(clean_folder)) == 0
    assert "no problems found" in capsys.readouterr().out

    path, expected = seeded
    assert run("validate", str(path), "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert {(f["check"], f["record"], f["key"]) for f in document["findings"]} == expected
    assert document["total_findings"] == len(expected)

    assert run("validate", str(tmp_path / "missing.tfrecord")) == 2
    assert "tfod: error:" in capsys.readouterr().err
    assert run("validate", str(tmp_path / "missing.tfrecord"), "--from", "tfrecord") == 2
    assert "no .tfrecord files found" in capsys.readouterr().err


def test_without_a_label_map_labels_are_checked_across_records(tmp_path: Path) -> None:
    path = tmp_path / "a.tfrecord"
    write_records(
        path,
        [
            good_features(0),
            _with(1, **{"image__object__class__label": np.array([1, 3], np.int64)}),
            _with(2, **{"image__object__class__label": np.array([0, 2], np.int64)}),
        ],
    )
    found = {(f.check, f.record, f.key) for f in validate(str(path)).findings}
    # record 1 calls "person" 3 (2 elsewhere); record 2 calls "car" 0, the background id (1 elsewhere)
    assert found == {
        ("label_mismatch", 1, tfod.CLASS_LABEL),
        ("label_id", 2, tfod.CLASS_LABEL),
        ("label_mismatch", 2, tfod.CLASS_LABEL),
    }


def test_other_checks(tmp_path: Path) -> None:
    path = tmp_path / "a.tfrecord"
    no_size = good_features(1)
    del no_size[tfod.HEIGHT]
    records = [
        _with(0, **{"image__format": [b"png"]}),
        no_size,
        _with(2, **{"image__object__bbox__xmax": np.array([0.1, 0.9], np.float32)}),  # xmin == xmax
    ]
    with RecordWriter(str(path)) as writer:
        for features in records:
            writer.write(encode_example(features))
        writer.write(b"\x0a\x05garbage")  # not an Example
    found = {(f.check, f.record, f.key) for f in validate(str(path)).findings}
    assert found == {
        ("image_format", 0, tfod.FORMAT),
        ("missing_key", 1, tfod.HEIGHT),
        ("box_empty", 2, tfod.XMIN),
        ("decode", 3, None),
    }


def test_images_folder_is_checked_when_records_embed_none(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "img_000.jpg").write_bytes(make_jpeg(WIDTH, HEIGHT, seed=0))
    (images / "img_001.jpg").write_bytes(make_jpeg(WIDTH + 2, HEIGHT, seed=1))
    records = [_with(index, **{"image__encoded": [b""], "image__key__sha256": [b""]}) for index in range(3)]
    path = tmp_path / "a.tfrecord"
    write_records(path, records)
    report = validate(str(path), images_dir=str(images))
    found = {(f.check, f.record, f.key) for f in report.findings}
    # every record lacks the bytes training needs; the files found in --images are still checked
    assert found == {("image_size", 1, tfod.FILENAME)} | {("image_missing", index, tfod.ENCODED) for index in range(3)}
    assert "'img_002.jpg' is not in" in next(f.message for f in report.findings if f.record == 2)
    assert report.images_checked == 2
    assert {f.check for f in validate(str(path)).findings} == {"image_missing"}


def test_compressed_and_sharded_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    for index in (0, 2):  # shard 1 of 3 is missing
        write_records(folder / f"train-0000{index}-of-00003.tfrecord", [good_features(index)])
    found = {(f.check, f.key) for f in validate(str(folder)).findings}
    assert found == {("shard_missing", None)}

    plain = tmp_path / "plain.tfrecord"
    write_records(plain, [good_features(index) for index in range(4)])
    compressed = tmp_path / "cut.tfrecord.gz"
    compressed.write_bytes(gzip.compress(plain.read_bytes())[:-300])  # truncated inside the deflate stream
    report = validate(str(compressed))
    assert {f.check for f in report.findings} >= {"compression"}
    assert 0 < report.records < 4


def test_other_formats_are_validated_as_items(tmp_path: Path) -> None:
    from tfodkit.formats import voc
    from tfodkit.model import Dataset, ImageRef, Item, Objects

    items = []
    for name, boxes in (("a", [[1, 1, 10, 10], [5, 5, WIDTH + 20, 10]]), ("b", [[1, 1, 10, 10]])):
        image = tmp_path / f"{name}.jpg"
        image.write_bytes(make_jpeg(WIDTH, HEIGHT, seed=0))
        items.append(
            Item(
                name,
                ImageRef(image.name, path=str(image), width=WIDTH, height=HEIGHT),
                Objects.from_boxes(boxes, [1] * len(boxes)),
            )
        )
    voc.write(Dataset(items, LABELS), str(tmp_path / "voc"), save_images=True)
    for jpeg in (tmp_path / "voc").rglob("b.jpg"):
        jpeg.unlink()
    with pytest.warns(UserWarning, match="no image file"):
        report = validate(str(tmp_path / "voc"), "voc")
    found = {(f.check, f.key) for f in report.findings}
    assert found == {("box_range", "box"), ("image_missing", "image")}
    assert report.records == 2


def test_cvat_zip_members_are_validated(tmp_path: Path) -> None:
    import zipfile

    records, expected = seeded_records()
    member = tmp_path / "train.tfrecord"
    write_records(member, records, corrupt=14)
    archive = tmp_path / "task.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.write(member, "train.tfrecord")
        opened.writestr("label_map.pbtxt", format_label_map(LABELS))
    report = validate(str(archive))
    assert report.format == "cvat-tfrecord" and report.label_map_path == f"{archive}!label_map.pbtxt"
    assert {(f.check, f.record, f.key) for f in report.findings} == expected
    assert {f.file for f in report.findings} == {f"{archive}!train.tfrecord"}


def test_records_without_image_bytes_cannot_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.tfrecord"
    write_records(path, [_with(0, **{"image__encoded": [b""], "image__key__sha256": [b""]}), good_features(1)])
    report = validate(str(path))
    assert [(f.check, f.record, f.key) for f in report.findings] == [("image_missing", 0, tfod.ENCODED)]
    assert "--save-images" in report.findings[0].message
    assert run("validate", str(path)) == 1
    out = capsys.readouterr().out
    assert "no problems found" not in out and "image_missing" in out and "--save-images" in out


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("item { id: 0 name: 'car' }\nitem { id: 1 name: 'person' }\n", "reserved for 'background'"),
        ("item { id: 1 name: 'car' }\nitem { id: 2 name: 'car' }\n", "car"),
    ],
)
def test_label_maps_with_id_0_or_duplicate_names_are_findings(tmp_path: Path, text: str, says: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_records(folder / "train.tfrecord", [good_features(0)])
    (folder / "label_map.pbtxt").write_text(text, encoding="utf-8")
    report = validate(str(folder))
    assert [f.check for f in report.findings] == ["label_map"]
    finding = report.findings[0]
    assert finding.file == str(folder / "label_map.pbtxt") and says in finding.message and "line " in finding.message
    assert report.records == 1  # the records were still checked
    given = tmp_path / "given.pbtxt"
    given.write_text(text, encoding="utf-8")
    assert [f.check for f in validate(str(folder / "train.tfrecord"), label_map=str(given)).findings] == ["label_map"]
