"""CVAT for images 1.1 XML: reading real-looking exports, layouts, hostile input, round trips."""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfodkit.errors import FormatError, UnsafeArchiveError
from tfodkit.formats import cvat_xml, detect_format
from tfodkit.formats.cvat_xml import SkippedAnnotationsWarning
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.samples import make_jpeg

# A task export as CVAT 2.x writes it (trimmed): meta with labels and attributes, shapes of every kind.
TASK_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>12</id>
      <name>parking lot</name>
      <size>3</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2024-03-01 10:00:00.000000+00:00</created>
      <updated>2024-03-02 10:00:00.000000+00:00</updated>
      <subset>Train</subset>
      <start_frame>0</start_frame>
      <stop_frame>2</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>30</id>
          <start>0</start>
          <stop>2</stop>
          <url>http://localhost:8080/api/jobs/30</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <labels>
        <label>
          <name>car</name>
          <color>#fa3253</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>color</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>person</name>
          <color>#33ddff</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>s1</name>
          <type>skeleton</type>
          <attributes>
          </attributes>
          <svg>&lt;circle r="1.5" cx="25" cy="22"&gt;&lt;/circle&gt;</svg>
        </label>
        <label>
          <name>1</name>
          <type>points</type>
          <attributes>
          </attributes>
          <parent>s1</parent>
        </label>
        <label>
          <name>unused</name>
          <attributes>
          </attributes>
        </label>
      </labels>
    </task>
    <dumped>2024-03-02 11:00:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="frame_000.jpg" width="640" height="480">
    <box label="car" source="manual" occluded="0" xtl="10.50" ytl="20.25" xbr="100.00" ybr="200.75" z_order="1">
      <attribute name="color">blue</attribute>
    </box>
    <polygon label="person" source="manual" occluded="1" points="300.00,100.00;350.50,120.00;330.00,180.25"
             z_order="2" group_id="3">
    </polygon>
    <polyline label="car" source="manual" occluded="0" points="1.00,2.00;3.00,4.00" z_order="0">
    </polyline>
    <points label="person" source="manual" occluded="0" points="5.00,6.00" z_order="0">
    </points>
    <tag label="car" source="manual">
    </tag>
  </image>
  <image id="1" name="sub/frame_001.jpg" width="640" height="480">
    <box label="truck" source="auto" occluded="0" xtl="0.00" ytl="0.00" xbr="5.00" ybr="5.00" rotation="15.50"
         z_order="0">
    </box>
    <mask label="car" source="manual" occluded="0" rle="3, 5, 7" left="7" top="8" width="3" height="5" z_order="0">
    </mask>
    <skeleton label="s1" source="manual" z_order="0">
      <points label="1" occluded="0" source="manual" outside="0" points="54.47,94.81">
      </points>
    </skeleton>
    <polyline label="car" source="manual" occluded="0" points="1.00,2.00;3.00,4.00" z_order="0">
    </polyline>
  </image>
  <image id="2" name="frame_002.jpg" width="320" height="240">
  </image>
</annotations>
"""


def write_task(folder: Path, text: str = TASK_XML, *, images: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotations.xml").write_text(text, encoding="utf-8")
    if images:
        (folder / "images" / "sub").mkdir(parents=True, exist_ok=True)
        (folder / "images" / "frame_000.jpg").write_bytes(make_jpeg(64, 48, 0))
        (folder / "images" / "sub" / "frame_001.jpg").write_bytes(make_jpeg(64, 48, 1))
    return folder


def read_all(path: str | Path, **options: str) -> tuple[Dataset, list[Item], list[warnings.WarningMessage]]:
    dataset = cvat_xml.read(str(path), **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = list(dataset)
    return dataset, items, caught


# ---------------------------------------------------------------------------------------------- reading
def test_reads_a_realistic_task_export(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "task")
    dataset, items, caught = read_all(folder)

    # labels: declared order, skeleton point labels left out, the undeclared 'truck' added after
    assert [(label.id, label.name) for label in dataset.label_map] == [
        (1, "car"),
        (2, "person"),
        (3, "s1"),
        (4, "unused"),
        (5, "truck"),
    ]
    assert dataset.name == "parking lot"
    assert [item.id for item in items] == ["frame_000", "sub/frame_001", "frame_002"]
    assert [item.subset for item in items] == ["Train"] * 3  # the task's <subset>
    assert [item.attributes["frame"] for item in items] == [0, 1, 2]

    first = items[0]
    assert first.image.known_size == (640, 480)
    assert first.image.path == str(folder / "images" / "frame_000.jpg")
    objects = first.objects
    np.testing.assert_array_equal(
        objects.boxes,
        [[10.5, 20.25, 100.0, 200.75], [300.0, 100.0, 350.5, 180.25], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 5.0, 6.0]],
    )
    assert objects.label_ids.tolist() == [1, 2, 1, 2]  # the <points> shape is an object with keypoints
    assert objects.attribute("keypoints")[3].tolist() == [[5.0, 6.0, 2.0]]
    objects = objects.select([0, 1, 2])
    assert objects.polygons[0] == []
    np.testing.assert_array_equal(objects.polygons[1][0], [[300.0, 100.0], [350.5, 120.0], [330.0, 180.25]])
    np.testing.assert_array_equal(objects.polygons[2][0], [[1.0, 2.0], [3.0, 4.0]])  # the <polyline>
    assert objects.attribute("shape") == [None, None, "polyline"]
    assert objects.attribute("occluded") == [False, True, False]
    assert objects.attribute("z_order") == [1, 2, 0]
    assert objects.attribute("group") == [0, 3, 0]
    assert objects.attribute("color") == ["blue", None, None]
    assert "rotation" not in objects.attributes

    second = items[1]
    assert second.image.path == str(folder / "images" / "sub" / "frame_001.jpg")
    assert second.objects.label_ids.tolist() == [5, 3, 1]  # the truck, the s1 skeleton and a polyline
    assert second.objects.attribute("rotation") == [15.5, None, None]
    assert second.objects.attribute("keypoints")[1].tolist() == [[54.47, 94.81, 2.0]]
    assert dataset.label_map[3].keypoints == ("1",)  # the skeleton's sub-label

    third = items[2]
    assert len(third.objects) == 0 and third.image.known_size == (320, 240)
    assert third.image.path is None and not third.image.has_bytes  # no file: no bytes, not a wrong path

    skipped = [warning for warning in caught if issubclass(warning.category, SkippedAnnotationsWarning)]
    assert len(skipped) == 1, [str(warning.message) for warning in caught]
    message = str(skipped[0].message)
    counts = message.rpartition(": ")[2]
    assert counts == "1 <mask>, 1 <tag>"  # <polyline>, <points> and <skeleton> are read now


def test_reading_twice_gives_the_same_items_and_ids(tmp_path: Path) -> None:
    dataset = cvat_xml.read(str(write_task(tmp_path / "task")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedAnnotationsWarning)
        first = [(item.id, item.objects.label_ids.tolist()) for item in dataset]
        second = [(item.id, item.objects.label_ids.tolist()) for item in dataset]
    assert first == second
    assert dataset.label_map.names == ["car", "person", "s1", "unused", "truck"]


def test_reads_the_xml_file_itself_and_an_images_dir(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "task")
    _, items, _ = read_all(folder / "annotations.xml")
    assert items[0].image.read() == (folder / "images" / "frame_000.jpg").read_bytes()
    _, items, _ = read_all(folder / "annotations.xml", images_dir=str(tmp_path / "elsewhere"))
    assert items[0].image.path == str(tmp_path / "elsewhere" / "frame_000.jpg")


def test_reads_a_cvat_export_zip_lazily(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "task")
    archive_path = tmp_path / "task.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.write(folder / "annotations.xml", "annotations.xml")
        archive.write(folder / "images" / "frame_000.jpg", "images/frame_000.jpg")
        archive.write(folder / "images" / "sub" / "frame_001.jpg", "images/sub/frame_001.jpg")
    assert cvat_xml.detect(str(archive_path))
    dataset, items, _ = read_all(archive_path)
    assert dataset.label_map.names[:2] == ["car", "person"]
    first = items[0]
    assert first.image.data is None and first.image.path is not None  # a reference, not bytes in memory
    assert first.image.read() == (folder / "images" / "frame_000.jpg").read_bytes()
    assert items[1].image.read() == (folder / "images" / "sub" / "frame_001.jpg").read_bytes()
    assert not items[2].image.has_bytes


def test_project_export_subsets_and_labels(tmp_path: Path) -> None:
    text = """<annotations><version>1.1</version><meta><project><id>1</id><name>proj</name>
      <labels><label><name>cat</name><attributes/></label><label><name>dog</name><attributes/></label></labels>
      <tasks><task><id>1</id><name>a</name><subset>Train</subset></task>
             <task><id>2</id><name>b</name><subset>Validation</subset></task></tasks></project></meta>
      <image id="0" name="a.png" subset="Train" task_id="1" width="4" height="4">
        <box label="dog" occluded="0" xtl="0" ytl="0" xbr="1" ybr="1" z_order="0"/></image>
      <image id="1" name="b.png" subset="Validation" task_id="2" width="4" height="4"/>
    </annotations>"""
    _, items, _ = read_all(write_task(tmp_path / "p", text, images=False) / "annotations.xml")
    assert [(item.id, item.subset) for item in items] == [("a", "Train"), ("b", "Validation")]
    assert items[0].objects.label_ids.tolist() == [2]


def test_datumaro_layout_one_xml_per_subset(tmp_path: Path) -> None:
    folder = tmp_path / "datumaro"
    folder.mkdir()
    for subset, label in (("train", "cat"), ("val", "dog")):
        (folder / f"{subset}.xml").write_text(
            f"<annotations><version>1.1</version><meta><task><name>{subset}</name><labels><label><name>{label}"
            f'</name></label></labels></task></meta><image id="0" name="{subset}_0.jpg" width="2" height="2">'
            f'<box label="{label}" xtl="0" ytl="0" xbr="1" ybr="1"/></image></annotations>',
            encoding="utf-8",
        )
    (folder / "notes.xml").write_text("<annotation><filename>voc</filename></annotation>", encoding="utf-8")
    assert cvat_xml.detect(str(folder))
    dataset, items, _ = read_all(folder)
    assert dataset.label_map.names == ["cat", "dog"]  # both files' labels known before iterating
    assert [(item.id, item.subset, item.objects.label_ids.tolist()) for item in items] == [
        ("train_0", "train", [1]),
        ("val_0", "val", [2]),
    ]


def test_reads_an_fsspec_url(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open("memory://tfodkit-cvat/task/annotations.xml", "wb") as out:
        out.write(TASK_XML.encode("utf-8"))
    with fsspec.open("memory://tfodkit-cvat/task/images/frame_002.jpg", "wb") as out:
        out.write(b"jpeg bytes")
    dataset, items, _ = read_all("memory://tfodkit-cvat/task/annotations.xml")
    assert dataset.label_map.names[:2] == ["car", "person"]
    assert [len(item.objects) for item in items] == [4, 3, 0]  # polylines, <points> and <skeleton> are objects too
    assert items[2].image.read() == b"jpeg bytes"


def test_streams_items_before_the_end_of_the_file(tmp_path: Path) -> None:
    images = "".join(
        f'<image id="{index}" name="{index}.jpg" width="8" height="8"><box label="a" xtl="0" ytl="0" xbr="1" '
        f'ybr="1"/></image>\n'
        for index in range(200)
    )
    path = tmp_path / "annotations.xml"
    path.write_text(f"<annotations><version>1.1</version>\n{images}<image broken", encoding="utf-8")
    iterator = iter(cvat_xml.read(str(path)))
    assert next(iterator).id == "0"  # yielded while the rest of the file is still unparsed
    with pytest.raises(FormatError) as raised:
        list(iterator)
    assert raised.value.line == 202


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ('<image id="0" name="a.jpg">\n<box label="a" xtl="x1" ytl="0" xbr="1" ybr="1"/></image>', 3, "not a number"),
        ('<image id="0" name="a.jpg">\n\n<box xtl="0" ytl="0" xbr="1" ybr="1"/></image>', 4, "no label"),
        ('<image id="0" name="a.jpg">\n<box label="a" ytl="0" xbr="1" ybr="1"/></image>', 3, "no xtl"),
        ('<image id="0" name="a.jpg">\n<box label="a" xtl="nan" ytl="0" xbr="1" ybr="1"/></image>', 3, "not finite"),
        ('<image id="0" name="a.jpg">\n<polygon label="a" points="1,2;3"/></image>', 3, "not 'x,y'"),
        ('<image id="0" name="a.jpg">\n<polygon label="a" points=""/></image>', 3, "empty"),
        (
            '<image id="0" name="a.jpg">\n<box label="a" occluded="maybe" xtl="0" ytl="0" xbr="1" ybr="1"/></image>',
            3,
            "not 0 or 1",
        ),
        (
            '<image id="0" name="a.jpg">\n<box label="a" z_order="1.5" xtl="0" ytl="0" xbr="1" ybr="1"/></image>',
            3,
            "not an integer",
        ),
        ('\n<image id="0" width="10"/>', 3, "no name"),
        ('<image id="0" name="a.jpg" width="wide"/>', 2, "not an integer"),
        ('\n\n<image id="0" name="../../etc/passwd"/>', 4, "outside"),
        ('<image id="0" name="/etc/passwd"/>', 2, "outside"),
        ('<image id="0" name="a.jpg">\n<box label="a" xtl="0" ytl="0" xbr="1" ybr="1"></image>', 3, "well-formed"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(f"<annotations>\n{body}\n</annotations>\n", encoding="utf-8")
    with pytest.raises(FormatError) as raised:
        list(cvat_xml.read(str(path)))
    assert raised.value.line == line, str(raised.value)
    assert raised.value.path == str(path)
    assert words in str(raised.value)


def test_not_a_cvat_file(tmp_path: Path) -> None:
    path = tmp_path / "voc.xml"
    path.write_text("<annotation>\n<filename>a.jpg</filename>\n</annotation>", encoding="utf-8")
    assert not cvat_xml.detect(str(path))
    with pytest.raises(FormatError, match="expected <annotations>"):
        cvat_xml.read(str(path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FormatError, match="no CVAT annotations.xml"):
        cvat_xml.read(str(empty))
    with pytest.raises(FormatError, match="no such file"):
        cvat_xml.read(str(tmp_path / "missing.xml"))


def test_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    for target in (secret.as_uri(), "file:///etc/passwd"):
        path = tmp_path / "xxe.xml"
        path.write_text(
            '<?xml version="1.0"?>\n'
            f'<!DOCTYPE annotations [<!ENTITY xxe SYSTEM "{target}">]>\n'
            "<annotations><version>1.1</version><meta><task><labels><label><name>&xxe;</name></label></labels>"
            '</task></meta><image id="0" name="a.jpg"><box label="a" xtl="0" ytl="0" xbr="1" ybr="1">'
            '<attribute name="x">&xxe;</attribute></box></image></annotations>',
            encoding="utf-8",
        )
        with pytest.raises(FormatError) as raised:
            list(cvat_xml.read(str(path)))
        assert "DOCTYPE" in str(raised.value)
        assert "TOP-SECRET" not in str(raised.value) and "root:" not in str(raised.value)


def test_billion_laughs_is_not_expanded(tmp_path: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    path = tmp_path / "lol.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE annotations [\n' + "\n".join(entities) + "\n]>\n"
        '<annotations><image id="0" name="&lol9;"><box label="&lol9;" xtl="0" ytl="0" xbr="1" ybr="1"/></image>'
        "</annotations>",
        encoding="utf-8",
    )
    with pytest.raises(FormatError):
        list(cvat_xml.read(str(path)))
    mild = tmp_path / "mild.xml"  # small enough for libxml2's own limit: refused for its DOCTYPE
    mild.write_text(
        '<!DOCTYPE annotations [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
        '<annotations><image id="0" name="&b;.jpg"/></annotations>',
        encoding="utf-8",
    )
    with pytest.raises(FormatError, match="DOCTYPE"):
        list(cvat_xml.read(str(mild)))


@pytest.mark.parametrize("member", ["../evil.jpg", "/etc/evil.jpg", "images/../../evil.jpg", "C:/evil.jpg"])
def test_hostile_zip_member_names_are_refused(tmp_path: Path, member: str) -> None:
    archive_path = tmp_path / "task.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("annotations.xml", "<annotations><version>1.1</version></annotations>")
        archive.writestr(member, b"x")
    with pytest.raises(UnsafeArchiveError) as raised:
        cvat_xml.read(str(archive_path))
    assert raised.value.path == str(archive_path)


def test_zip_without_annotations(tmp_path: Path) -> None:
    archive_path = tmp_path / "other.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("default.tfrecord", b"")
    assert not cvat_xml.detect(str(archive_path))
    with pytest.raises(FormatError, match="no annotations.xml"):
        cvat_xml.read(str(archive_path))


# ---------------------------------------------------------------------------------------------- writing
def rich_dataset(folder: Path) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    label_map = LabelMap.from_names(["car", "自行车 <&>", 'it\'s "q"'])
    items = []
    for index in range(3):
        path = folder / f"img_{index}.jpg"
        path.write_bytes(make_jpeg(40 + index, 30, index))
        items.append(Item(f"img_{index}", ImageRef(path.name, path=str(path), width=40 + index, height=30)))
    items[0].objects = Objects(
        boxes=np.array([[1 / 3, 2.5, 10.125, 20.0], [0, 0, 0, 0]], dtype=np.float64),
        label_ids=[1, 3],
        polygons=[
            [],
            [np.array([[1.0, 2.0], [5.5, 2.0], [3.0, 7.25]]), np.array([[20.0, 20.0], [25.0, 21.0], [22.0, 28.0]])],
        ],
        attributes={
            "occluded": [True, False],
            "z_order": [3, 0],
            "group": [0, 0],
            "difficult": [True, None],
            "note": ['5 < 6 & "x"', None],
            "rotation": [30.0, None],
        },
    )
    items[0].objects.boxes[1] = [1.0, 2.0, 25.0, 28.0]
    items[1].objects = Objects.from_boxes([[0.1, 0.2, 0.3, 0.4]], [2], group=[7], note=["only here"])
    items[1].subset = "val"
    items[2].subset = "train"
    return Dataset(items, label_map, name="rich")


@pytest.mark.parametrize("target_name", ["out", "out.zip"])
def test_round_trip(tmp_path: Path, target_name: str) -> None:
    source = rich_dataset(tmp_path / "src")
    target = tmp_path / target_name
    cvat_xml.write(source, str(target), save_images=True)
    assert cvat_xml.detect(str(target))
    assert detect_format(str(target)) == "cvat"
    dataset, items, caught = read_all(target)
    assert not caught
    assert dataset.label_map == source.label_map  # same names, same order: ids 1..N as written
    assert dataset.name == "rich"
    originals = list(source)
    assert [item.id for item in items] == [item.id for item in originals]
    assert [item.subset for item in items] == ["default", "val", "train"]
    for item, original in zip(items, originals, strict=True):
        assert item.image.known_size == original.image.known_size
        assert item.image.read() == original.image.read()  # byte for byte

    first = items[0].objects
    # a box, then one <polygon> per part of the second object, sharing a fresh group
    np.testing.assert_array_equal(first.boxes[0], [1 / 3, 2.5, 10.125, 20.0])  # full precision
    assert first.label_ids.tolist() == [1, 3, 3]
    np.testing.assert_array_equal(first.polygons[1][0], [[1.0, 2.0], [5.5, 2.0], [3.0, 7.25]])
    np.testing.assert_array_equal(first.boxes[2], [20.0, 20.0, 25.0, 28.0])
    assert first.attribute("group") == [0, 1, 1]
    assert first.attribute("occluded") == [True, False, False]
    assert first.attribute("z_order") == [3, 0, 0]
    assert first.attribute("difficult") == [True, None, None]
    assert first.attribute("note") == ['5 < 6 & "x"', None, None]
    assert first.attribute("rotation") == [30.0, None, None]

    second = items[1].objects
    np.testing.assert_array_equal(second.boxes, [[0.1, 0.2, 0.3, 0.4]])
    assert second.label_ids.tolist() == [2] and second.attribute("group") == [7]
    assert second.attribute("note") == ["only here"]
    assert len(items[2].objects) == 0


def test_write_layouts(tmp_path: Path) -> None:
    source = rich_dataset(tmp_path / "src")
    cvat_xml.write(source, str(tmp_path / "bare"))
    assert sorted(os.listdir(tmp_path / "bare")) == ["annotations.xml"]
    cvat_xml.write(source, str(tmp_path / "full"), save_images=True)
    assert sorted(os.listdir(tmp_path / "full" / "images")) == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]
    cvat_xml.write(source, str(tmp_path / "task.zip"), save_images=True)
    with zipfile.ZipFile(tmp_path / "task.zip") as archive:
        names = sorted(archive.namelist())
        document = archive.read("annotations.xml")
    assert names == ["annotations.xml", "images/img_0.jpg", "images/img_1.jpg", "images/img_2.jpg"]
    assert document == (tmp_path / "full" / "annotations.xml").read_bytes()
    text = document.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n')
    assert "<subset>val</subset>" in text and 'subset="val"' in text
    assert "&lt;&amp;&gt;" in text  # escaped by the serializer
    # the same dataset gives the same bytes
    cvat_xml.write(source, str(tmp_path / "again.zip"), save_images=True)
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "task.zip").read_bytes()


def test_labels_found_while_writing_are_declared(tmp_path: Path) -> None:
    label_map = LabelMap()

    def items():  # type: ignore[no-untyped-def]
        for name in ["late", "later"]:
            label_id = label_map.get_or_add(name)  # as a reader without a label map does
            yield Item(name, ImageRef(f"{name}.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [label_id]))

    cvat_xml.write(Dataset(items, label_map), str(tmp_path / "out"))
    dataset, read_items, _ = read_all(tmp_path / "out")
    assert dataset.label_map.names == ["late", "later"]
    assert [item.objects.label_ids.tolist() for item in read_items] == [[1], [2]]


def test_masks_without_polygons_are_written_as_boxes_with_one_warning(tmp_path: Path) -> None:
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    masks = [Mask.from_array(mask), Mask.from_array(mask)]
    objects = Objects(boxes=[[1, 1, 3, 3], [0, 0, 1, 1]], label_ids=[1, 1], masks=masks)
    dataset = Dataset([Item("a", ImageRef("a.png", width=4, height=4), objects)], LabelMap.from_names(["x"]))
    with pytest.warns(UserWarning, match="2 object"):
        cvat_xml.write(dataset, str(tmp_path / "out"))
    _, items, _ = read_all(tmp_path / "out")
    np.testing.assert_array_equal(items[0].objects.boxes, [[1, 1, 3, 3], [0, 0, 1, 1]])


def test_the_shared_sample_dataset_round_trips(tmp_path: Path, dataset: Dataset) -> None:
    with pytest.warns(UserWarning, match="mask"):
        cvat_xml.write(dataset, str(tmp_path / "out.zip"))
    read_back, items, _ = read_all(tmp_path / "out.zip")
    assert read_back.label_map.names == dataset.label_map.names
    for item, original in zip(items, dataset, strict=True):
        assert (item.id, item.subset) == (original.id, original.subset)
        np.testing.assert_array_equal(item.objects.boxes, original.objects.boxes)
        np.testing.assert_array_equal(item.objects.label_ids, original.objects.label_ids)
        assert item.objects.attribute("difficult") == [bool(value) for value in original.objects.attribute("difficult")]
        assert item.objects.attribute("pose") == original.objects.attribute("pose")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda item: setattr(item.objects, "label_ids", np.array([9])), "not in the label map"),
        (lambda item: item.objects.attributes.update(note=["bad\x01char"]), "XML 1.0"),
        (lambda item: item.objects.boxes.__setitem__((0, 0), np.inf), "finite"),
        (lambda item: setattr(item, "image", ImageRef("../escape.jpg", width=2, height=2)), "file name"),
    ],
)
def test_write_errors_leave_nothing_behind(tmp_path: Path, change, words: str) -> None:  # type: ignore[no-untyped-def]
    item = Item(
        "a",
        ImageRef("a.jpg", data=make_jpeg(8, 8, 0), width=8, height=8),
        Objects.from_boxes([[0, 0, 1, 1]], [1], note=["fine"]),
    )
    change(item)
    for target in ("out", "out.zip"):
        with pytest.raises(FormatError, match=words):
            cvat_xml.write(Dataset([item], LabelMap.from_names(["x"])), str(tmp_path / target), save_images=True)
    assert os.listdir(tmp_path) == []


def test_save_images_needs_image_bytes(tmp_path: Path) -> None:
    dataset = Dataset([Item("a", ImageRef("a.jpg", width=2, height=2))], LabelMap())
    for target in ("out", "out.zip"):
        with pytest.raises(FormatError, match="no bytes"):
            cvat_xml.write(dataset, str(tmp_path / target), save_images=True)
        cvat_xml.write(dataset, str(tmp_path / target))  # fine without images
    assert sorted(os.listdir(tmp_path)) == ["out", "out.zip"]


def test_size_comes_from_the_image_header_when_unknown(tmp_path: Path) -> None:
    item = Item("a", ImageRef("a.jpg", data=make_jpeg(33, 21, 0)))
    cvat_xml.write(Dataset([item], LabelMap()), str(tmp_path / "out"))
    _, items, _ = read_all(tmp_path / "out")
    assert items[0].image.known_size == (33, 21)
