"""Unlabeled objects (Datumaro's class/label 0 + class/text "", CVAT's label=""): label_id 0, never in the label
map; TFRecord keeps them, VOC/COCO/YOLO/CVAT leave them out and count ``unlabeled_object``. Label-map errors
name the file and the line (pbtxt) or the record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.errors import FormatError, LabelMapError, LossError
from tfodkit.example import decode_example, encode_example
from tfodkit.labelmap import read_label_map
from tfodkit.model import LabelMap
from tfodkit.pipeline import convert, read_dataset
from tfodkit.records import RecordWriter, read_records
from tfodkit.samples import make_jpeg


def datumaro_records(path: Path, labels: list[tuple[int, bytes]] | None = None) -> Path:
    """Two records as Datumaro writes them: one with a car and an unlabeled object, one empty image."""
    labels = labels or [(1, b"car"), (0, b"")]
    with RecordWriter(str(path)) as writer:
        writer.write(
            encode_example(
                {
                    "image/filename": [b"a.jpg"],
                    "image/height": [48],
                    "image/width": [64],
                    "image/encoded": [make_jpeg(64, 48, seed=5)],
                    "image/format": [b"jpeg"],
                    "image/object/bbox/xmin": np.array([0.0, 0.5], np.float32),
                    "image/object/bbox/ymin": np.array([0.0, 0.5], np.float32),
                    "image/object/bbox/xmax": np.array([0.5, 1.0], np.float32),  # exactly on the border
                    "image/object/bbox/ymax": np.array([0.5, 1.0], np.float32),
                    "image/object/class/label": np.array([number for number, _ in labels], np.int64),
                    "image/object/class/text": [text for _, text in labels],
                }
            )
        )
        writer.write(
            encode_example(
                {
                    "image/filename": [b"b.jpg"],
                    "image/height": [48],
                    "image/width": [64],
                    "image/encoded": [make_jpeg(64, 48, seed=6)],
                    "image/format": [b"jpeg"],
                }
            )
        )
    return path


def test_datumaro_unlabeled_object_reads_as_id_0_outside_the_label_map(tmp_path: Path) -> None:
    dataset = read_dataset(str(datumaro_records(tmp_path / "in.tfrecord")))
    items = list(dataset)
    assert items[0].objects.label_ids.tolist() == [1, 0]
    assert dataset.label_map.names == ["car"]
    assert dataset.label_map.name_of(0) is None and 0 not in dataset.label_map


def test_tfrecord_keeps_unlabeled_objects_as_0_and_empty_text(tmp_path: Path) -> None:
    source = datumaro_records(tmp_path / "in.tfrecord")
    report = convert(str(source), str(tmp_path / "out" / "out.tfrecord"), to_format="tfrecord")
    assert (report.objects, report.losses) == (2, {})
    features = decode_example(next(iter(read_records(str(tmp_path / "out" / "out.tfrecord")))))
    assert features["image/object/class/label"].tolist() == [1, 0]
    assert features["image/object/class/text"] == [b"car", b""]
    pbtxt = (tmp_path / "out" / "label_map.pbtxt").read_text()
    assert "id: 0" not in pbtxt and read_label_map(tmp_path / "out" / "label_map.pbtxt").names == ["car"]


@pytest.mark.parametrize("target_format", ["voc", "coco", "yolo", "cvat"])
def test_label_needing_formats_leave_unlabeled_objects_out_and_count_them(tmp_path: Path, target_format: str) -> None:
    source = datumaro_records(tmp_path / "in.tfrecord")
    target = tmp_path / target_format
    report = convert(str(source), str(target), to_format=target_format)
    assert report.losses == {"unlabeled_object": 1}
    assert report.loss_messages["unlabeled_object"] == f"unlabeled objects not written: {target_format} needs a label"
    assert report.objects == 1
    back = read_dataset(str(target), target_format)
    assert sorted(len(item.objects) for item in back) == [0, 1]
    assert back.label_map.names == ["car"]
    with pytest.raises(LossError):
        convert(str(source), str(tmp_path / "strict"), to_format=target_format, strict=True)
    assert not (tmp_path / "strict").exists()


def test_cli_says_what_was_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = datumaro_records(tmp_path / "in.tfrecord")
    assert run("convert", str(source), str(tmp_path / "voc"), "--to", "voc", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["losses"] == {"unlabeled_object": 1}
    assert "tfod: lost: 1 unlabeled objects not written: voc needs a label" in captured.err
    assert run("convert", str(source), str(tmp_path / "strict"), "--to", "coco", "--strict", "-q") == 2


def test_cvat_empty_label_is_no_label(tmp_path: Path) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<annotations><version>1.1</version><meta><task><labels>'
        "<label><name>car</name></label><label><name></name></label></labels></task></meta>\n"
        '<image id="0" name="a.jpg" width="64" height="48">\n'
        '<polygon label="" occluded="0" points="1,1;10,1;10,10" z_order="0"/>\n'
        '<box label="car" occluded="0" xtl="0" ytl="0" xbr="64" ybr="48" z_order="0"/>\n'
        "</image></annotations>\n"
    )
    dataset = read_dataset(str(xml), "cvat")
    items = list(dataset)
    assert items[0].objects.label_ids.tolist() == [0, 1]
    assert dataset.label_map.names == ["car"]
    report = convert(str(xml), str(tmp_path / "out.tfrecord"), to_format="tfrecord")
    assert report.losses == {"polygon_as_box": 1, "image_missing": 1}  # the unlabeled object is kept
    report = convert(str(xml), str(tmp_path / "out.xml"), to_format="cvat")
    assert report.losses == {"unlabeled_object": 1}


def test_label_map_never_takes_id_0_or_an_empty_name() -> None:
    label_map = LabelMap()
    with pytest.raises(LabelMapError, match="empty name"):
        label_map.add("")
    with pytest.raises(LabelMapError, match="reserved for 'background'"):
        label_map.add("label_0", 0)
    assert label_map.add("background", 0) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "item {\n  id: 1\n  name: 'a'\n}\nitem {\n  id: 0\n  name: 'b'\n}\n",
            r"line 6: column 3: label id 0 is reserved",
        ),
        ("item {\n  id: 1\n  name: 'a'\n}\nitem {\n  id: 2\n  name: 'a'\n}\n", r"line 5: .*'a' is used twice \(line 1"),
        ("item {\n  id: 1\n  name: ''\n}\n", r"line 3: column 3: label id 1 has an empty name"),
    ],
)
def test_bad_label_map_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "label_map.pbtxt").write_text(text)
    datumaro_records(tmp_path / "in.tfrecord")
    with pytest.raises(LabelMapError, match=f"label_map.pbtxt: {message}"):
        read_dataset(str(tmp_path / "in.tfrecord"))
    assert run("convert", str(tmp_path / "in.tfrecord"), str(tmp_path / "o.tfrecord"), "--to", "tfrecord", "-q") == 2


def test_label_conflicts_in_records_name_the_file_and_record(tmp_path: Path) -> None:
    (tmp_path / "label_map.pbtxt").write_text("item {\n  id: 1\n  name: 'label_3'\n}\n")
    source = datumaro_records(tmp_path / "in.tfrecord", [(1, b"car"), (3, b"")])
    with pytest.raises(FormatError, match=r"in.tfrecord: record 0: object 1: label name 'label_3' is used twice"):
        list(read_dataset(str(source)))
    (tmp_path / "neg").mkdir()
    negative = datumaro_records(tmp_path / "neg" / "in.tfrecord", [(1, b"car"), (-2, b"")])
    with pytest.raises(FormatError, match=r"record 0: object 1: image/object/class/label is -2, a negative label id"):
        list(read_dataset(str(negative)))


def test_info_names_unlabeled_objects_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = datumaro_records(tmp_path / "d.tfrecord")
    (tmp_path / "label_map.pbtxt").write_text("item {\n  id: 1\n  name: 'car'\n}\n")
    assert run("info", str(records), "--json") == 0
    assert json.loads(capsys.readouterr().out)["labels_in_records"] == {"car": 1, "(no label)": 1}
    assert run("info", str(records)) == 0
    printed = capsys.readouterr().out
    assert "Labels used by objects: 2" in printed and "not in the label map" not in printed
