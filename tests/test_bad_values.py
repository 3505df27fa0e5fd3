"""Bad box values in every reader: an error naming the file and place; ``--on-error skip`` skips and counts the
item; ``--clip`` clips boxes outside the image and counts ``box_clipped``; an inverted box is never clipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _cli import run

from tfodkit.boxes import NORMALIZED_TOLERANCE, PIXEL_TOLERANCE, checked_boxes, clipping_boxes
from tfodkit.errors import FormatError, LossError
from tfodkit.example import encode_example
from tfodkit.pipeline import convert, read_dataset
from tfodkit.records import RecordWriter
from tfodkit.samples import make_jpeg


def fail(index: int, message: str) -> FormatError:
    return FormatError(f"object {index}: {message}", path="x")


# ------------------------------------------------------------------------------------- the shared check
def test_border_boxes_and_float_noise_are_inside() -> None:
    boxes = np.array([[0, 0, 640, 480], [640, 480, 640, 480], [-PIXEL_TOLERANCE, 0, 640 + PIXEL_TOLERANCE, 480]])
    assert checked_boxes(boxes, 640, 480, fail) is boxes
    normalized = np.array([[0, 0, 1 + NORMALIZED_TOLERANCE, 1]])
    assert checked_boxes(normalized, None, None, fail, normalized=True) is normalized


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ([10, 0, 5000, 480], r"object 1: box \[10, 0, 5000, 480\] reaches outside the 640x480 image; --clip"),
        ([-50, 0, 10, 10], "reaches outside the 640x480 image"),
        ([10, 0, -50, 480], r"xmin > xmax \(10 > -50\): an inverted box"),
        ([0, 9, 5, 2], r"ymin > ymax \(9 > 2\): an inverted box"),
        ([0, float("nan"), 5, 2], "has a non-finite number"),
    ],
)
def test_bad_boxes_are_errors(box: list[float], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        checked_boxes(np.array([[0, 0, 1, 1], box], dtype=np.float64), 640, 480, fail)


def test_clip_clips_outside_but_never_inverted_or_wholly_outside() -> None:
    with clipping_boxes():
        clipped = checked_boxes(np.array([[-5.0, 3, 700, 500]]), 640, 480, fail)
        assert clipped.tolist() == [[0, 3, 640, 480]]
        with pytest.raises(FormatError, match="inverted"):
            checked_boxes(np.array([[10.0, 0, -50, 480]]), 640, 480, fail)
        with pytest.raises(FormatError, match="wholly outside the 640x480 image"):
            checked_boxes(np.array([[700.0, 0, 800, 10]]), 640, 480, fail)


def test_unknown_size_checks_the_top_left_only() -> None:
    assert checked_boxes(np.array([[0.0, 0, 9000, 9000]]), None, None, fail).tolist() == [[0, 0, 9000, 9000]]
    with pytest.raises(FormatError, match=r"outside the \?x\? image"):
        checked_boxes(np.array([[-3.0, 0, 10, 10]]), None, None, fail)


# ------------------------------------------------------------------------------------- every reader
def cvat_xml(folder: Path, xbr: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotations.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
        "<meta><task><labels><label><name>car</name></label></labels></task></meta>\n"
        '<image id="0" name="a.jpg" width="640" height="480">\n'
        '  <box label="car" occluded="0" xtl="0" ytl="0" xbr="640" ybr="480" z_order="0"/>\n'
        f'  <box label="car" occluded="0" xtl="10" ytl="20" xbr="{xbr}" ybr="40" z_order="0"/>\n'
        '  <polygon label="car" occluded="0" points="-4,5;30,5;30,600" z_order="0"/>\n'
        "</image>\n"
        '<image id="1" name="b.jpg" width="640" height="480">\n'
        '  <box label="car" occluded="0" xtl="1" ytl="2" xbr="3" ybr="4" z_order="0"/>\n'
        "</image>\n</annotations>\n"
    )
    return folder / "annotations.xml"


@pytest.mark.parametrize("xbr", ["-50", "5000"])
def test_cvat_box_outside_is_an_error_naming_file_and_line(tmp_path: Path, xbr: str) -> None:
    xml = cvat_xml(tmp_path / "cvat", xbr)
    problem = "inverted" if xbr == "-50" else "outside"
    with pytest.raises(FormatError, match=rf"annotations.xml: line 7: <box>: .*{problem}"):
        list(read_dataset(str(xml), "cvat"))
    assert run("convert", str(xml), str(tmp_path / "out.tfrecord"), "--to", "tfrecord", "-q") == 2
    assert not (tmp_path / "out.tfrecord").exists()


def test_cvat_clip_clips_boxes_and_polygons_and_counts_them(tmp_path: Path) -> None:
    xml = cvat_xml(tmp_path / "cvat", "5000")
    report = convert(str(xml), str(tmp_path / "out.xml"), to_format="cvat", clip=True)
    assert report.losses == {"box_clipped": 2}
    assert report.loss_messages["box_clipped"] == "boxes clipped to the image (--clip)"
    items = list(read_dataset(str(tmp_path / "out.xml"), "cvat"))
    assert items[0].objects.boxes.tolist() == [[0, 0, 640, 480], [10, 20, 640, 40], [0, 5, 30, 480]]
    assert items[0].objects.polygons[2][0].tolist() == [[0, 5], [30, 5], [30, 480]]
    with pytest.raises(LossError, match="--strict: 1 boxes clipped"):
        convert(str(xml), str(tmp_path / "strict.xml"), to_format="cvat", clip=True, strict=True)
    assert not (tmp_path / "strict.xml").exists()


def test_cli_clip_and_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = cvat_xml(tmp_path / "cvat", "5000")
    assert run("convert", str(xml), str(tmp_path / "clipped.tfrecord"), "--to", "tfrecord", "--clip", "--json") == 0
    captured = capsys.readouterr()
    # the polygon goes as a box (records hold no polygon points); the XML names no image files
    assert json.loads(captured.out)["losses"] == {"box_clipped": 2, "polygon_as_box": 1, "image_missing": 2}
    assert "tfod: lost: 2 boxes clipped to the image (--clip)" in captured.err
    target = tmp_path / "skipped.tfrecord"
    assert run("convert", str(xml), str(target), "--to", "tfrecord", "--on-error", "skip", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["items"], summary["skipped"]) == (1, 1)
    assert "line 7: <box>: box [10, 20, 5000, 40] reaches outside the 640x480 image" in summary["skipped_examples"][0]


def make_voc(root: Path, xmax: str, size: bool = True) -> Path:
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "JPEGImages" / "a.jpg").write_bytes(make_jpeg(64, 48, seed=1))
    size_xml = "<size><width>64</width><height>48</height><depth>3</depth></size>" if size else ""
    (root / "Annotations" / "a.xml").write_text(
        f"<annotation>\n<filename>a.jpg</filename>\n{size_xml}\n"
        "<object><name>dog</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>64</xmax><ymax>48</ymax></bndbox></object>\n"
        f"<object><name>dog</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>{xmax}</xmax><ymax>9</ymax></bndbox>"
        "</object>\n</annotation>\n"
    )
    return root


def test_voc_box_outside_names_the_object_line(tmp_path: Path) -> None:
    root = make_voc(tmp_path / "voc", "70")
    with pytest.raises(FormatError, match=r"a.xml: line 5: <object>: box \[1, 2, 70, 9\] reaches outside the 64x48"):
        list(read_dataset(str(root), "voc"))
    report = convert(str(root), str(tmp_path / "o.tfrecord"), to_format="tfrecord", clip=True)
    assert report.losses == {"box_clipped": 1}
    boxes = [item.objects.boxes for item in read_dataset(str(tmp_path / "o.tfrecord"))]
    assert np.allclose(boxes, [[[0, 0, 64, 48], [1, 2, 64, 9]]])  # float32 in the record


def test_voc_inverted_box_is_an_error_even_without_a_size(tmp_path: Path) -> None:
    root = make_voc(tmp_path / "voc", "0", size=False)
    with pytest.raises(FormatError, match=r"line 5: <object>: xmin > xmax \(1 > 0\): an inverted box"):
        list(read_dataset(str(root), "voc"))


def make_yolo(root: Path, line: str) -> Path:
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "images" / "train" / "a.jpg").write_bytes(make_jpeg(100, 50, seed=2))
    (root / "labels" / "train" / "a.txt").write_text(f"0 0.5 0.5 1.0 1.0\n\n{line}\n")
    (root / "data.yaml").write_text("names: [cat]\ntrain: images/train\n")
    return root


def test_yolo_box_outside_names_the_line_and_clips(tmp_path: Path) -> None:
    root = make_yolo(tmp_path / "yolo", "0 0.9 0.5 0.4 0.2")
    with pytest.raises(FormatError, match=r"a.txt: line 3: box \[70, 20, 110, 30\] reaches outside the 100x50 image"):
        list(read_dataset(str(root), "yolo"))
    report = convert(str(root), str(tmp_path / "o.tfrecord"), to_format="tfrecord", clip=True)
    assert report.losses == {"box_clipped": 1}
    boxes = [item.objects.boxes.tolist() for item in read_dataset(str(tmp_path / "o.tfrecord"))][0]
    assert np.allclose(boxes, [[0, 0, 100, 50], [70, 20, 100, 30]])


def test_coco_box_outside_is_an_error_degenerate_still_a_counted_skip(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    (root / "train" / "a.jpg").write_bytes(make_jpeg(24, 16, seed=3))
    document = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 24, "height": 16}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [0, 0, 24, 16], "area": 1, "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [3, 3, 0, 5], "area": 0, "iscrowd": 0},
            {
                "id": 3,
                "image_id": 7,
                "category_id": 1,
                "bbox": [20, 3, 5, 5],
                "area": 25,
                "iscrowd": 0,
                "segmentation": [[20, 3, 25, 3, 25, 8]],
            },
        ],
        "categories": [{"id": 1, "name": "car"}],
    }
    (root / "annotations" / "instances_train.json").write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"instances_train.json: annotation 3: box \[20, 3, 25, 8\] reaches outside"):
        convert(str(root), str(tmp_path / "o.tfrecord"), to_format="tfrecord")
    report = convert(str(root), str(tmp_path / "o.tfrecord"), to_format="tfrecord", clip=True)
    assert report.losses == {"box_clipped": 1, "degenerate_box_skipped": 1, "polygon_as_box": 1}
    items = list(read_dataset(str(tmp_path / "o.tfrecord")))
    assert np.allclose(items[0].objects.boxes, [[0, 0, 24, 16], [20, 3, 24, 8]])


def records(path: Path, boxes: list[list[float]]) -> Path:
    with RecordWriter(str(path)) as writer:
        for index, box in enumerate(boxes):
            xmin, ymin, xmax, ymax = (np.array([value], np.float32) for value in box)
            writer.write(
                encode_example(
                    {
                        "image/filename": [f"{index}.jpg".encode()],
                        "image/height": [10],
                        "image/width": [20],
                        "image/object/bbox/xmin": xmin,
                        "image/object/bbox/ymin": ymin,
                        "image/object/bbox/xmax": xmax,
                        "image/object/bbox/ymax": ymax,
                        "image/object/class/text": [b"car"],
                        "image/object/class/label": [1],
                    }
                )
            )
    return path


def test_tfrecord_box_outside_0_1_names_the_record_and_clips(tmp_path: Path) -> None:
    source = records(tmp_path / "in.tfrecord", [[0, 0, 1, 1], [0.5, -0.25, 1.5, 0.5], [0.1, 0.1, 0.2, 0.2]])
    with pytest.raises(
        FormatError,
        match=r"in.tfrecord: record 1: object 0: box \[0.5, -0.25, 1.5, 0.5\] reaches "
        r"outside the image; --clip clips it",
    ):
        convert(str(source), str(tmp_path / "out.tfrecord"), to_format="tfrecord")
    report = convert(str(source), str(tmp_path / "out.tfrecord"), to_format="coco", clip=True)
    assert report.losses == {"box_clipped": 1}
    report = convert(str(source), str(tmp_path / "skip.tfrecord"), to_format="tfrecord", on_error="skip")
    assert (report.items, report.skipped) == (2, 1)
