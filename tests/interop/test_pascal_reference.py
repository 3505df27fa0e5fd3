"""VOC -> TFRecord against the TF OD API's create_pascal_tf_record.py, run on TensorFlow 2.

The reference below re-implements that script's ``dict_to_tf_example`` and main loop (read from the
tensorflow/models source: the XML parsed into a dict by ``recursive_parse_xml_to_dict``, the image list from
``ImageSets/Main/aeroplane_<set>.txt``, the image read from ``<folder>/JPEGImages/<filename>``, boxes divided by
the XML's width/height, records written with ``tf.io.TFRecordWriter``) with TensorFlow's own ``tf.train.Example``
and ``tf.io.gfile``. tfodkit's records of the same VOC folder must hold the same keys and values, and be the
bytes of ``SerializeToString(deterministic=True)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tfodkit.formats import tfod, voc
from tfodkit.pipeline import convert
from tfodkit.samples import make_jpeg

pytestmark = pytest.mark.interop

tf = pytest.importorskip("tensorflow")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from pascal_reference import reference_records  # noqa: E402

CLASSES = ["aeroplane", "bicycle", "bird", "person", "tvmonitor"]


# ---------------------------------------------------------------------------------------------- a tiny VOCdevkit
def make_devkit(root: Path) -> None:
    rng = np.random.default_rng(2007)
    for year, prefix, count in (("VOC2007", "", 5), ("VOC2012", "2008_", 3)):
        folder = root / year
        for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        ids = []
        for index in range(count):
            item_id = f"{prefix}{index + 1:06d}"
            ids.append(item_id)
            width, height = int(rng.integers(40, 90)), int(rng.integers(30, 70))
            (folder / "JPEGImages" / f"{item_id}.jpg").write_bytes(make_jpeg(width, height, index))
            objects = []
            for _ in range(0 if index == count - 1 else int(rng.integers(1, 5))):
                x1, y1 = int(rng.integers(1, width // 2)), int(rng.integers(1, height // 2))
                x2 = x1 + int(rng.integers(3, width // 2))
                y2 = y1 + int(rng.integers(3, height // 2))
                if rng.random() < 0.3:  # VOC2012 has a few fractional coordinates
                    x1 += 0.5
                objects.append(
                    f"<object><name>{CLASSES[int(rng.integers(0, len(CLASSES)))]}</name>"
                    f"<pose>{['Unspecified', 'Left', 'Right', 'Frontal', 'Rear'][int(rng.integers(0, 5))]}</pose>"
                    f"<truncated>{int(rng.integers(0, 2))}</truncated><difficult>{int(rng.random() < 0.3)}</difficult>"
                    f"<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
                )
            (folder / "Annotations" / f"{item_id}.xml").write_text(
                f"<annotation><folder>{year}</folder><filename>{item_id}.jpg</filename>"
                "<source><database>The VOC Database</database></source>"
                f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
                f"<segmented>0</segmented>{''.join(objects)}</annotation>\n"
            )
        sets = {"train": ids[::2], "val": ids[1::2], "trainval": ids}
        for name, listed in sets.items():
            (folder / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(f"{i}\n" for i in listed))
            (folder / "ImageSets" / "Main" / f"aeroplane_{name}.txt").write_text("".join(f"{i} -1\n" for i in listed))


def _features(example):
    """key -> (kind, values) of a tf.train.Example."""
    result = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        result[key] = (kind, list(getattr(feature, kind).value))
    return result


@pytest.mark.parametrize(
    ("year", "image_set", "ignore_difficult"),
    [("VOC2007", "trainval", False), ("merged", "train", True)],
)
def test_tfodkit_records_equal_the_od_api_scripts(
    tmp_path: Path, year: str, image_set: str, ignore_difficult: bool
) -> None:
    devkit = tmp_path / "VOCdevkit"
    make_devkit(devkit)
    label_map_path = tmp_path / "pascal_label_map.pbtxt"
    label_map_path.write_text(
        "".join(f"item {{\n  id: {i + 1}\n  name: '{name}'\n}}\n" for i, name in enumerate(CLASSES))
    )
    label_map_dict = {name: i + 1 for i, name in enumerate(CLASSES)}

    reference_records(str(devkit), year, image_set, label_map_dict, tmp_path / "reference.record", ignore_difficult)
    convert(
        str(devkit),
        str(tmp_path / "ours.tfrecord"),
        from_format="voc",
        to_format="tfrecord",
        read_options={
            "year": year,
            "set": image_set,
            "label_map": str(label_map_path),
            "ignore_difficult": ignore_difficult,
        },
    )

    ours = [bytes(record.numpy()) for record in tf.data.TFRecordDataset(str(tmp_path / "ours.tfrecord"))]
    theirs = [bytes(record.numpy()) for record in tf.data.TFRecordDataset(str(tmp_path / "reference.record"))]
    expected = [tf.train.Example.FromString(record) for record in theirs]
    assert len(ours) == len(theirs) > 0
    objects = 0
    for our_bytes, example in zip(ours, expected, strict=True):
        parsed = tf.train.Example.FromString(our_bytes)
        assert _features(parsed) == _features(example)  # same keys, kinds and values (float32 exactly)
        assert our_bytes == example.SerializeToString(deterministic=True)
        objects += len(example.features.feature["image/object/class/label"].int64_list.value)
    assert objects > 0
    # The decoded records match too, as TF's own parser reads them.
    for ours_record, theirs_record in zip(ours, theirs, strict=True):
        ours_parsed, theirs_parsed = (tf.train.Example.FromString(record) for record in (ours_record, theirs_record))
        assert _features(ours_parsed) == _features(theirs_parsed)


def test_difficult_truncated_and_pose_survive_the_round_trip(tmp_path: Path) -> None:
    devkit = tmp_path / "VOCdevkit"
    make_devkit(devkit)
    source = voc.read(str(devkit), year="VOC2007", set="trainval")
    tfod.write(source, str(tmp_path / "records.tfrecord"))
    records = tf.data.TFRecordDataset(str(tmp_path / "records.tfrecord"))
    parsed = [tf.train.Example.FromString(bytes(record.numpy())) for record in records]
    for item, example in zip(source, parsed, strict=True):
        feature = example.features.feature
        for key, name in (("image/object/difficult", "difficult"), ("image/object/truncated", "truncated")):
            assert list(feature[key].int64_list.value) == [int(v) for v in item.objects.attribute(name)]
        assert [v.decode() for v in feature["image/object/view"].bytes_list.value] == item.objects.attribute("pose")
