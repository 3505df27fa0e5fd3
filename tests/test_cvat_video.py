"""CVAT for video 1.1 (tracks), polylines, and the layouts cvat-cli downloads: task and project exports."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _cli import run

import tfodkit
from tfodkit.errors import FormatError
from tfodkit.formats import cvat_xml, detect_format
from tfodkit.formats._cvat_xml_tracks import FrameIndex
from tfodkit.formats.cvat_xml import SkippedAnnotationsWarning
from tfodkit.model import Item
from tfodkit.samples import make_jpeg
from tfodkit.tolerance import skipping_bad_items

LABELS = """
      <labels>
        <label><name>car</name><attributes><attribute><name>color</name><mutable>True</mutable>
          <input_type>text</input_type><default_value></default_value><values></values></attribute></attributes>
        </label>
        <label><name>person</name><attributes></attributes></label>
      </labels>"""

# A "CVAT for video 1.1" task export as CVAT 2.x writes it: every frame of a track (keyframes and the frames it
# interpolated) until an outside keyframe; a plain shape is a track of one keyframe then an outside one.
VIDEO_XML = f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>street video</name>
      <size>6</size>
      <mode>interpolation</mode>
      <overlap>5</overlap>
      <subset>Train</subset>
      <start_frame>0</start_frame>
      <stop_frame>5</stop_frame>
      <frame_filter></frame_filter>
      {LABELS}
      <original_size><width>64</width><height>48</height></original_size>
    </task>
    <dumped>2024-05-01 10:00:00.000000+00:00</dumped>
  </meta>
  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1.00" ytl="2.00" xbr="11.00" ybr="12.00" z_order="0">
      <attribute name="color">red</attribute>
    </box>
    <box frame="1" keyframe="0" outside="0" occluded="0" xtl="2.00" ytl="3.00" xbr="12.00" ybr="13.00" z_order="0">
      <attribute name="color">red</attribute>
    </box>
    <box frame="2" keyframe="1" outside="1" occluded="0" xtl="3.00" ytl="4.00" xbr="13.00" ybr="14.00" z_order="0">
      <attribute name="color">red</attribute>
    </box>
  </track>
  <track id="1" label="person" source="manual">
    <polygon frame="1" keyframe="1" outside="0" occluded="1" points="5.00,5.00;15.00,5.00;10.00,20.00" z_order="2">
    </polygon>
    <polygon frame="2" keyframe="0" outside="0" occluded="1" points="6.00,5.00;16.00,5.00;11.00,20.00" z_order="2">
    </polygon>
    <polygon frame="3" keyframe="1" outside="1" occluded="1" points="6.00,5.00;16.00,5.00;11.00,20.00" z_order="2">
    </polygon>
  </track>
  <track id="2" label="car" source="manual" group_id="4">
    <polyline frame="4" keyframe="1" outside="0" occluded="0" points="1.00,1.00;30.00,2.00;40.00,9.50" z_order="0">
    </polyline>
    <polyline frame="5" keyframe="1" outside="1" occluded="0" points="1.00,1.00;30.00,2.00;40.00,9.50" z_order="0">
    </polyline>
  </track>
  <track id="3" label="car" source="auto">
    <box frame="1" keyframe="1" outside="0" occluded="0" xtl="40.00" ytl="30.00" xbr="50.00" ybr="40.00" z_order="1">
    </box>
    <points frame="2" keyframe="1" outside="0" occluded="0" points="1.00,1.00" z_order="0">
    </points>
  </track>
</annotations>
"""


def png_like(frame: int) -> bytes:
    return make_jpeg(8, 6, seed=frame)  # the bytes matter, not their kind: CVAT names video frames .PNG


def video_folder(folder: Path, text: str = VIDEO_XML, *, images: str | None = "images", frames: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotations.xml").write_text(text, encoding="utf-8")
    if images is not None:
        (folder / images).mkdir(parents=True)
        for frame in range(frames):
            (folder / images / f"frame_{frame:06d}.PNG").write_bytes(png_like(frame))
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def read_items(path: Path, **options: str) -> tuple[tfodkit.Dataset, list[Item], list[warnings.WarningMessage]]:
    dataset = cvat_xml.read(str(path), **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = list(dataset)
    return dataset, items, caught


def per_frame(items: list[Item]) -> dict[str, list[tuple[str, list[float], int]]]:
    return {
        item.id: [
            (label, box, track)
            for label, box, track in zip(
                [["car", "person"][label_id - 1] for label_id in item.objects.label_ids.tolist()],
                item.objects.boxes.tolist(),
                item.objects.attribute("track_id"),
                strict=True,
            )
        ]
        for item in items
    }


# ---------------------------------------------------------------------------------------------- video tracks
def test_tracks_become_per_frame_objects_outside_frames_dropped(tmp_path: Path) -> None:
    folder = video_folder(tmp_path / "task")
    dataset, items, caught = read_items(folder)
    assert dataset.label_map.names == ["car", "person"]
    assert dataset.name == "street video"
    # an item for every frame of the task, with or without objects, named as in CVAT's export zip
    assert [item.id for item in items] == [f"frame_{frame:06d}" for frame in range(6)]
    assert [item.image.name for item in items] == [f"frame_{frame:06d}.PNG" for frame in range(6)]
    assert [item.attributes["frame"] for item in items] == list(range(6))
    assert {item.subset for item in items} == {"Train"}
    assert all(item.image.known_size == (64, 48) for item in items)
    assert items[3].image.read() == png_like(3)
    assert per_frame(items) == {
        "frame_000000": [("car", [1, 2, 11, 12], 0)],
        "frame_000001": [("car", [2, 3, 12, 13], 0), ("person", [5, 5, 15, 20], 1), ("car", [40, 30, 50, 40], 3)],
        "frame_000002": [("person", [6, 5, 16, 20], 1)],  # the car's outside keyframe is no object
        "frame_000003": [],
        "frame_000004": [("car", [1, 1, 40, 9.5], 2)],
        "frame_000005": [],
    }
    second = items[1].objects
    assert second.attribute("color") == ["red", None, None]
    assert second.attribute("occluded") == [False, True, False]
    assert second.attribute("z_order") == [0, 2, 1]
    np.testing.assert_array_equal(second.polygons[1][0], [[5, 5], [15, 5], [10, 20]])
    line = items[4].objects
    assert line.attribute("shape") == ["polyline"] and line.attribute("group") == [4]
    np.testing.assert_array_equal(line.polygons[0][0], [[1, 1], [30, 2], [40, 9.5]])
    # the track's <points> is another engineer's shape kind: counted, not silently dropped
    skipped = [str(warning.message) for warning in caught if issubclass(warning.category, SkippedAnnotationsWarning)]
    assert len(skipped) == 1 and "1 <points>" in skipped[0]


def test_reading_twice_gives_the_same_items(tmp_path: Path) -> None:
    dataset = cvat_xml.read(str(video_folder(tmp_path / "task")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedAnnotationsWarning)
        assert per_frame(list(dataset)) == per_frame(list(dataset))


def test_the_zip_cvat_cli_downloads_is_read_in_place(tmp_path: Path) -> None:
    archive = zipped(video_folder(tmp_path / "task"), tmp_path / "video.zip")
    assert detect_format(str(archive)) == "cvat"
    _, items, _ = read_items(archive)
    assert len(items) == 6
    assert items[2].image.path is not None and items[2].image.path.startswith("zip://images/frame_000002.PNG::")
    assert items[2].image.read() == png_like(2)


def test_frames_without_image_files_keep_cvats_names(tmp_path: Path) -> None:
    _, items, _ = read_items(video_folder(tmp_path / "task", images=None) / "annotations.xml")
    assert [item.image.name for item in items][:2] == ["frame_000000.PNG", "frame_000001.PNG"]
    assert items[0].image.path is None and not items[0].image.has_bytes


def test_frame_step_and_start_frame_number_frames_as_cvat_does(tmp_path: Path) -> None:
    text = VIDEO_XML.replace("<size>6</size>", "<size>3</size>").replace(
        "<start_frame>0</start_frame>", "<start_frame>10</start_frame>"
    )
    text = text.replace("<frame_filter></frame_filter>", "<frame_filter>step=5</frame_filter>")
    track = (
        '<track id="0" label="car" source="manual">'
        '<box frame="15" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="2" ybr="2" z_order="0"/>'
        '<box frame="20" keyframe="1" outside="1" occluded="0" xtl="1" ytl="1" xbr="2" ybr="2" z_order="0"/>'
        "</track>"
    )
    text = text[: text.index("<track")] + track + "</annotations>\n"
    _, items, _ = read_items(video_folder(tmp_path / "task", text, images=None))
    assert [(item.id, len(item.objects)) for item in items] == [
        ("frame_000010", 0),
        ("frame_000015", 1),
        ("frame_000020", 0),
    ]


def test_shapes_on_frames_meta_does_not_list_still_become_items(tmp_path: Path) -> None:
    text = VIDEO_XML.replace("<size>6</size>", "<size>2</size>")  # frames 0, 1 listed; 2 and 4 hold shapes
    _, items, _ = read_items(video_folder(tmp_path / "task", text))
    assert [item.id for item in items] == ["frame_000000", "frame_000001", "frame_000002", "frame_000004"]
    assert items[3].image.known_size == (64, 48) and items[3].image.read() == png_like(4)


def test_a_video_without_tracks_still_lists_its_frames(tmp_path: Path) -> None:
    text = VIDEO_XML[: VIDEO_XML.index("<track")] + "</annotations>\n"
    _, items, _ = read_items(video_folder(tmp_path / "task", text))
    assert [(item.id, len(item.objects)) for item in items] == [(f"frame_{frame:06d}", 0) for frame in range(6)]


def test_a_bad_track_names_the_line_and_can_be_skipped(tmp_path: Path) -> None:
    text = VIDEO_XML.replace('<box frame="1" keyframe="0"', '<box keyframe="0"')
    folder = video_folder(tmp_path / "task", text)
    with pytest.raises(FormatError, match=r"annotations\.xml: line \d+: <box> in a <track> has no frame"):
        read_items(folder)
    with skipping_bad_items() as skipped:
        _, items, _ = read_items(folder)
    assert skipped.count == 1
    assert per_frame(items)["frame_000000"] == []  # the whole bad track is left out, nothing half-read


def test_tracks_beside_images_are_counted_not_read(tmp_path: Path) -> None:
    text = VIDEO_XML.replace(
        "<track", '<image id="0" name="a.jpg" width="64" height="48"></image>\n  <track', 1
    ).replace("<mode>interpolation</mode>", "<mode>annotation</mode>")
    _, items, caught = read_items(video_folder(tmp_path / "task", text, images=None))
    assert [item.id for item in items] == ["a"]
    assert any("4 <track>" in str(warning.message) for warning in caught)


def test_the_frame_index_is_a_private_temporary_file() -> None:
    index = FrameIndex()
    index.add("train", 3, {"a": 1})
    index.add("val", 1, {"b": 2})
    index.add("train", 3, {"c": 3})
    assert index.take("train", 3) == [{"a": 1}, {"c": 3}]
    assert index.take("train", 3) == []  # taken: gone from the index
    assert list(index.remaining()) == [("val", 1)]
    index.close()


# ---------------------------------------------------------------------------------------------- project exports
def project_task(task_id: int, name: str, subset: str, size: int, mode: str = "interpolation") -> str:
    return (
        f"<task><id>{task_id}</id><name>{name}</name><size>{size}</size><mode>{mode}</mode>"
        f"<subset>{subset}</subset><start_frame>0</start_frame><stop_frame>{size - 1}</stop_frame>"
        f"<frame_filter></frame_filter>"
        f"<original_size><width>64</width><height>48</height></original_size></task>"
    )


def test_a_video_project_export_numbers_frames_across_tasks_per_subset(tmp_path: Path) -> None:
    # Tasks are listed by subset, then id; within a subset CVAT numbers frames on from the previous task.
    tasks = project_task(1, "a", "train", 2) + project_task(2, "b", "train", 2) + project_task(3, "c", "val", 2)
    text = f"""<annotations><version>1.1</version><meta><project><id>5</id><name>streets</name>{LABELS}
    <tasks>{tasks}</tasks><subsets>train\nval</subsets></project></meta>
  <track id="0" label="car" source="manual" task_id="2" subset="train">
    <box frame="3" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="9" ybr="9" z_order="0"/>
  </track>
  <track id="1" label="person" source="manual" task_id="3" subset="val">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="2" ytl="2" xbr="8" ybr="8" z_order="0"/>
    <box frame="1" keyframe="1" outside="1" occluded="0" xtl="2" ytl="2" xbr="8" ybr="8" z_order="0"/>
  </track>
</annotations>"""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "annotations.xml").write_text(text, encoding="utf-8")
    for subset, frames in (("train", 4), ("val", 2)):
        (folder / "images" / subset).mkdir(parents=True)
        for frame in range(frames):
            (folder / "images" / subset / f"frame_{frame:06d}.PNG").write_bytes(png_like(frame))
    dataset, items, _ = read_items(zipped(folder, tmp_path / "project.zip"))
    assert dataset.name == "streets"
    assert [(item.subset, item.id, len(item.objects)) for item in items] == [
        ("train", "frame_000000", 0),
        ("train", "frame_000001", 0),
        ("train", "frame_000002", 0),
        ("train", "frame_000003", 1),
        ("val", "frame_000000", 1),
        ("val", "frame_000001", 0),
    ]
    assert items[3].image.path is not None and "images/train/frame_000003.PNG" in items[3].image.path
    assert items[4].image.read() == png_like(0)
    assert items[3].objects.attribute("track_id") == [0] and items[4].objects.attribute("track_id") == [1]


def test_an_images_project_export_keeps_each_tasks_subset(tmp_path: Path) -> None:
    tasks = project_task(1, "a", "train", 2, "annotation") + project_task(2, "b", "val", 1, "annotation")
    text = f"""<annotations><version>1.1</version><meta><project><id>5</id><name>shop</name>{LABELS}
    <tasks>{tasks}</tasks></project></meta>
  <image id="0" name="a.jpg" subset="train" task_id="1" width="8" height="6">
    <box label="car" occluded="0" xtl="1" ytl="1" xbr="4" ybr="4" z_order="0"/></image>
  <image id="1" name="dir/b.jpg" subset="train" task_id="1" width="8" height="6"></image>
  <image id="0" name="c.jpg" subset="val" task_id="2" width="8" height="6">
    <polyline label="person" occluded="0" points="1,1;5,2" z_order="0"/></image>
</annotations>"""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "annotations.xml").write_text(text, encoding="utf-8")
    for subset, name in (("train", "a.jpg"), ("train", "dir/b.jpg"), ("val", "c.jpg")):
        (folder / "images" / subset / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "images" / subset / name).write_bytes(make_jpeg(8, 6, seed=len(name)))
    for path in (folder, zipped(folder, tmp_path / "project.zip")):
        _, items, _ = read_items(path)
        assert [(item.subset, item.id, len(item.objects)) for item in items] == [
            ("train", "a", 1),
            ("train", "dir/b", 0),
            ("val", "c", 1),
        ]
        assert items[1].image.read() == (folder / "images" / "train" / "dir" / "b.jpg").read_bytes()


# ---------------------------------------------------------------------------------------------- polylines out
def test_polylines_round_trip_through_cvat_xml(tmp_path: Path) -> None:
    source = video_folder(tmp_path / "task")
    target = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = tfodkit.convert(str(source), str(target), to_format="cvat")
    assert "polyline_as_box" not in report.losses
    text = (target / "annotations.xml").read_text(encoding="utf-8")
    assert text.count("<polyline ") == 1 and '<attribute name="shape">' not in text
    assert '<attribute name="track_id">2</attribute>' in text
    _, items, _ = read_items(target)
    line = items[4].objects
    assert line.attribute("shape") == ["polyline"] and line.attribute("track_id") == [2]
    np.testing.assert_array_equal(line.polygons[0][0], [[1, 1], [30, 2], [40, 9.5]])


def test_other_targets_keep_a_polylines_box_and_count_the_loss(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = video_folder(tmp_path / "task")
    target = tmp_path / "coco"
    assert run("convert", str(source), str(target), "--to", "coco", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["losses"]["polyline_as_box"] == 1
    document = json.loads(next(target.rglob("*.json")).read_text(encoding="utf-8"))
    line = [entry for entry in document["annotations"] if entry["bbox"] == [1.0, 1.0, 39.0, 8.5]]
    assert len(line) == 1 and not line[0].get("segmentation")  # a line is no polygon
    assert run("convert", str(source), str(tmp_path / "strict"), "--to", "coco", "--strict") == 2
    assert not (tmp_path / "strict").exists()


def test_the_readme_route_exports_a_video_zip_to_cvat_tfrecord(tmp_path: Path) -> None:
    archive = zipped(video_folder(tmp_path / "task"), tmp_path / "task42.zip")
    records = tmp_path / "task42-tfrecord.zip"
    assert run("export", str(archive), str(records), "--save-images", "--masks", "polygons") == 0
    items = list(tfodkit.read_dataset(str(records)))
    assert [(item.id, len(item.objects)) for item in items] == [
        ("frame_000000", 1),
        ("frame_000001", 3),
        ("frame_000002", 1),
        ("frame_000003", 0),
        ("frame_000004", 1),  # the polyline, as its box
        ("frame_000005", 0),
    ]
    assert items[3].image.read() == png_like(3)  # embedded byte for byte
    assert run("import", str(records), str(tmp_path / "back.zip"), "--to", "cvat") == 0
    assert detect_format(str(tmp_path / "back.zip")) == "cvat"
