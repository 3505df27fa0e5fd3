"""``--on-error skip|stop`` (``convert(on_error=...)``): stop is the default and writes nothing; skip leaves out
the bad items of every reader, counts them, reports them, and still stops on damaged TFRecord framing."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.errors import CorruptRecordError, FormatError, TfodError, UsageError
from tfodkit.example import encode_example
from tfodkit.pipeline import convert, read_dataset
from tfodkit.records import RecordWriter

BAD = Path(__file__).resolve().parent / "bad"


def example(name: str, xmin: float = 0.1, xmax: float = 0.5) -> bytes:
    return encode_example(
        {
            "image/filename": [name.encode()],
            "image/height": [48],
            "image/width": [64],
            "image/object/bbox/xmin": np.array([xmin], np.float32),
            "image/object/bbox/xmax": np.array([xmax], np.float32),
            "image/object/bbox/ymin": np.array([0.2], np.float32),
            "image/object/bbox/ymax": np.array([0.6], np.float32),
            "image/object/class/text": [b"car"],
            "image/object/class/label": [1],
        }
    )


@pytest.fixture
def records_with_two_bad(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.tfrecord"
    with RecordWriter(str(path)) as writer:
        writer.write(example("a.jpg"))
        writer.write(example("b.jpg", xmin=0.9, xmax=0.2))  # record 1: an inverted box
        writer.write(example("c.jpg"))
        writer.write(b"\x0a\x05\x0a\x03\x0f\x00\x00")  # record 3: not an Example (wire type 7)
        writer.write(example("d.jpg"))
    return path


def quiet_convert(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert(*args, **kwargs)  # type: ignore[arg-type]


def test_stop_is_the_default_and_writes_nothing(tmp_path: Path, records_with_two_bad: Path) -> None:
    target = tmp_path / "out" / "o.tfrecord"
    with pytest.raises(FormatError, match="xmin > xmax") as caught:
        quiet_convert(str(records_with_two_bad), str(target), to_format="tfrecord")
    assert caught.value.record_index == 1
    assert not (tmp_path / "out").exists()


def test_skip_leaves_out_the_bad_records_and_counts_them(tmp_path: Path, records_with_two_bad: Path) -> None:
    target = tmp_path / "o.tfrecord"
    report = quiet_convert(str(records_with_two_bad), str(target), to_format="tfrecord", on_error="skip")
    assert report.items == 3
    assert report.skipped == 2
    assert report.skipped_examples == [
        f"{records_with_two_bad}: record 1: object 0: xmin > xmax (0.9 > 0.2): an inverted box",
        f"{records_with_two_bad}: record 3, byte 4: invalid wire type 7",
    ]
    assert [item.id for item in read_dataset(str(target), "tfrecord")] == ["a", "c", "d"]
    assert report.as_dict()["skipped"] == 2


def test_damaged_framing_stops_even_when_skipping(tmp_path: Path) -> None:
    with pytest.raises(CorruptRecordError, match="data CRC mismatch"):
        quiet_convert(
            str(BAD / "bad_crc.tfrecord"), str(tmp_path / "o.tfrecord"), to_format="tfrecord", on_error="skip"
        )
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_policy_is_a_usage_error(tmp_path: Path, records_with_two_bad: Path) -> None:
    with pytest.raises(UsageError, match="--on-error must be one of stop, skip"):
        convert(str(records_with_two_bad), str(tmp_path / "o.tfrecord"), to_format="tfrecord", on_error="ignore")


def test_readers_outside_a_skipping_conversion_still_raise(records_with_two_bad: Path) -> None:
    with pytest.raises(TfodError):
        list(read_dataset(str(records_with_two_bad), "tfrecord"))


def test_the_command_reports_what_it_skipped(
    tmp_path: Path, records_with_two_bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "o.tfrecord"
    assert run("convert", str(records_with_two_bad), str(target), "--to", "tfrecord", "--on-error", "skip") == 0
    captured = capsys.readouterr()
    assert "3 images, 3 objects" in captured.out
    assert "2 bad items skipped" in captured.out
    skipped_lines = [line for line in captured.err.splitlines() if line.startswith("tfod: warning: skipped ")]
    assert skipped_lines == [
        f"tfod: warning: skipped {records_with_two_bad}: record 1: object 0: xmin > xmax (0.9 > 0.2): an inverted box",
        f"tfod: warning: skipped {records_with_two_bad}: record 3, byte 4: invalid wire type 7",
    ]
    assert (
        run(
            "convert",
            str(records_with_two_bad),
            str(tmp_path / "p.tfrecord"),
            "--to",
            "tfrecord",
            "--on-error",
            "skip",
            "--json",
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped"] == 2 and summary["items"] == 3


def test_the_command_stops_by_default(
    tmp_path: Path, records_with_two_bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", str(records_with_two_bad), str(tmp_path / "o.tfrecord"), "--to", "tfrecord", "-q") == 2
    assert capsys.readouterr().err.strip().endswith("record 1: object 0: xmin > xmax (0.9 > 0.2): an inverted box")
    assert list(tmp_path.iterdir()) == [records_with_two_bad]


def test_the_command_says_why_damaged_framing_is_not_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            "convert",
            str(BAD / "bad_crc.tfrecord"),
            str(tmp_path / "o.tfrecord"),
            "--to",
            "tfrecord",
            "--on-error",
            "skip",
        )
        == 2
    )
    assert "tfod repair salvages the intact records" in capsys.readouterr().err


def copy_with(tmp_path: Path, source: str, extra: dict[str, str]) -> Path:
    root = tmp_path / "dataset"
    shutil.copytree(BAD / source, root)
    for relative, text in extra.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


GOOD_VOC = (
    "<annotation><filename>{name}.jpg</filename><size><width>64</width><height>48</height></size><object>"
    "<name>car</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
    "</annotation>"
)


@pytest.mark.parametrize("defect", ["voc_broken_xml", "voc_nan_box"])
def test_voc_skips_the_bad_file(tmp_path: Path, defect: str) -> None:
    root = copy_with(tmp_path, defect, {f"Annotations/{name}.xml": GOOD_VOC.format(name=name) for name in ("a", "b")})
    report = quiet_convert(
        str(root), str(tmp_path / "o.tfrecord"), from_format="voc", to_format="tfrecord", on_error="skip"
    )
    assert (report.items, report.skipped) == (2, 1)
    assert "000001.xml" in report.skipped_examples[0]


def test_coco_skips_the_bad_image_entry(tmp_path: Path) -> None:
    report = quiet_convert(
        str(BAD / "coco_missing_keys"),
        str(tmp_path / "o.tfrecord"),
        from_format="coco",
        to_format="tfrecord",
        on_error="skip",
        write_options={"save_images": False},
    )
    assert (report.items, report.skipped) == (1, 1)
    assert "image entry without id, file_name, width or height" in report.skipped_examples[0]


def test_cvat_xml_skips_the_bad_image(tmp_path: Path) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(
        '<?xml version="1.0"?><annotations><version>1.1</version>'
        '<image id="0" name="a.jpg" width="64" height="48">'
        '<box label="car" xtl="1" ytl="2" xbr="30" ybr="40"/></image>'
        '<image id="1" name="b.jpg" width="64" height="48">'
        '<box label="car" xtl="nan" ytl="2" xbr="30" ybr="40"/></image>'
        '<image id="2" name="c.jpg" width="64" height="48"/></annotations>'
    )
    report = quiet_convert(
        str(xml),
        str(tmp_path / "o.tfrecord"),
        from_format="cvat",
        to_format="tfrecord",
        on_error="skip",
        write_options={"save_images": False},
    )
    assert (report.items, report.skipped) == (2, 1)
    assert "line 1" in report.skipped_examples[0] or "annotations.xml" in report.skipped_examples[0]


def test_yolo_skips_the_bad_label_file(tmp_path: Path) -> None:
    from tfodkit.samples import make_jpeg

    root = tmp_path / "yolo"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("train: images/train\nnames: [car]\n")
    for name, label in (("a", "0 0.5 0.5 0.2 0.2\n"), ("b", "7 0.5 0.5 0.2 0.2\n"), ("c", "")):
        (root / "images" / "train" / f"{name}.jpg").write_bytes(make_jpeg(16, 12, 0))
        (root / "labels" / "train" / f"{name}.txt").write_text(label)
    report = quiet_convert(
        str(root),
        str(tmp_path / "o.tfrecord"),
        from_format="yolo",
        to_format="tfrecord",
        on_error="skip",
        write_options={"save_images": False},
    )
    assert (report.items, report.skipped) == (2, 1)
    assert "b.txt: line 1: class 7 is not one of the 1 names" in report.skipped_examples[0]


def test_a_transform_failing_on_one_item_is_skipped(tmp_path: Path, records_with_two_bad: Path) -> None:
    def fail_on_c(item):  # type: ignore[no-untyped-def]
        if item.id == "c":
            raise FormatError("cannot transform this one")
        return item

    report = quiet_convert(
        str(records_with_two_bad),
        str(tmp_path / "o.tfrecord"),
        to_format="tfrecord",
        transforms=[fail_on_c],
        on_error="skip",
    )
    assert (report.items, report.skipped) == (2, 3)
    assert report.skipped_examples[1] == "item 'c': cannot transform this one"
    with pytest.raises(FormatError, match="cannot transform this one"):  # and the default stops on it
        quiet_convert(
            str(BAD / "good.tfrecord"),
            str(tmp_path / "p.tfrecord"),
            to_format="tfrecord",
            transforms=[lambda item: fail_on_c(type(item)("c", item.image, item.objects))],
        )
