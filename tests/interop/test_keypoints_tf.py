"""Keypoints in tfodkit's records, decoded by TensorFlow (2.21, .venv-interop) as the OD API's tf_example_decoder does.

The OD API is not installed in the interop environment, so the records are parsed with ``tf.io.parse_single_example``
and the decoder's own feature spec for keypoints (``VarLenFeature`` float32 x/y, int64 visibility), then reshaped as
its ``_reshape_keypoints`` / ``_reshape_keypoint_visibilities`` do with ``num_keypoints`` = K: every value is compared.
The other way round, a record serialized by TensorFlow in ``create_coco_tf_record.py``'s layout reads back in tfodkit.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.interop

tf = pytest.importorskip("tensorflow")

from tfodkit.example import decode_example  # noqa: E402
from tfodkit.formats import tfod  # noqa: E402
from tfodkit.model import KEYPOINTS, ImageRef, Item, LabelMap, Objects  # noqa: E402

NAMES = ["nose", "left_eye", "right_eye", "left_ear"]
KEYPOINT_SPEC = {  # tf_example_decoder.TfExampleDecoder(num_keypoints=K): the keypoint part of keys_to_features
    "image/object/keypoint/x": tf.io.VarLenFeature(tf.float32),
    "image/object/keypoint/y": tf.io.VarLenFeature(tf.float32),
    "image/object/keypoint/visibility": tf.io.VarLenFeature(tf.int64),
    # written by create_coco_tf_record.py beside them
    "image/object/keypoint/num": tf.io.VarLenFeature(tf.int64),
    "image/object/keypoint/text": tf.io.VarLenFeature(tf.string),
    "image/object/class/text": tf.io.VarLenFeature(tf.string),
}


def random_item(rng: np.random.Generator, index: int) -> Item:
    width, height = int(rng.integers(50, 2000)), int(rng.integers(50, 2000))
    count = int(rng.integers(1, 6))
    boxes, points = [], []
    label_ids = [1 + (i % 2) for i in range(count)]  # person (4 points), face (3)
    for label_id in label_ids:
        size = len(NAMES) if label_id == 1 else 3
        x0, y0 = rng.uniform(0, width / 2), rng.uniform(0, height / 2)
        boxes.append([x0, y0, x0 + rng.uniform(1, width / 2), y0 + rng.uniform(1, height / 2)])
        if rng.random() < 0.25:
            points.append(None)  # an object without keypoints: padded with unlabeled points
            continue
        rows = np.column_stack([rng.uniform(0, width, size), rng.uniform(0, height, size), rng.integers(0, 3, size)])
        rows[rows[:, 2] == 0, :2] = 0
        if not (rows[:, 2] > 0).any():
            rows[0] = [1.0, 2.0, 2.0]
        points.append(rows)
    objects = Objects.from_boxes(boxes, label_ids, **{KEYPOINTS: points})
    return Item(f"{index}", ImageRef(f"{index}.jpg", width=width, height=height), objects)


def labels() -> LabelMap:
    label_map = LabelMap()
    label_map.add("person", keypoints=NAMES, skeleton=[(1, 2), (1, 3), (2, 4)])
    label_map.add("face", keypoints=NAMES[:3])  # fewer points: padded to K in the record
    return label_map


def test_tf_decodes_every_keypoint_value_as_written() -> None:
    rng = np.random.default_rng(13)
    label_map = labels()
    for index in range(40):
        item = random_item(rng, index)
        record = tfod.item_to_example(item, label_map, save_images=False)
        parsed = tf.io.parse_single_example(record, KEYPOINT_SPEC)
        dense = {key: tf.sparse.to_dense(value).numpy() for key, value in parsed.items()}
        size = len(NAMES)
        # _reshape_keypoints: y and x stacked, reshaped to [num_instances, num_keypoints, 2]
        keypoints = np.reshape(
            np.stack([dense["image/object/keypoint/y"], dense["image/object/keypoint/x"]], 1), [-1, size, 2]
        )
        visibility = np.reshape(dense["image/object/keypoint/visibility"], [-1, size])
        assert keypoints.shape[0] == len(item.objects) == visibility.shape[0]
        width, height = item.image.size
        for row, points in enumerate(item.objects.attribute(KEYPOINTS)):
            expected = np.zeros((size, 3)) if points is None else np.vstack([points, np.zeros((size - len(points), 3))])
            np.testing.assert_array_equal(keypoints[row, :, 1], (expected[:, 0] / width).astype(np.float32))
            np.testing.assert_array_equal(keypoints[row, :, 0], (expected[:, 1] / height).astype(np.float32))
            assert visibility[row].tolist() == expected[:, 2].astype(int).tolist()
            assert dense["image/object/keypoint/num"][row] == int((expected[:, 2] > 0).sum())
            names = [name.decode() for name in dense["image/object/keypoint/text"][row * size : (row + 1) * size]]
            assert names[:3] == NAMES[:3]
        # and tfodkit reads its own record back to the same points (within float32)
        back = tfod.example_to_item(decode_example(record), labels())
        for original, read in zip(item.objects.attribute(KEYPOINTS), back.objects.attribute(KEYPOINTS), strict=True):
            if original is None:
                assert read is None
            else:
                np.testing.assert_allclose(read, original, atol=1e-3 * max(item.image.size))


def test_a_create_coco_tf_record_style_record_from_tf_reads_in_tfodkit() -> None:
    def floats(values: list[float]) -> tf.train.Feature:
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    def ints(values: list[int]) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    def strings(values: list[bytes]) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))

    feature = {
        "image/height": ints([100]),
        "image/width": ints([200]),
        "image/filename": strings([b"p.jpg"]),
        "image/object/bbox/xmin": floats([0.1, 0.5]),
        "image/object/bbox/xmax": floats([0.4, 0.9]),
        "image/object/bbox/ymin": floats([0.1, 0.5]),
        "image/object/bbox/ymax": floats([0.4, 0.9]),
        "image/object/class/text": strings([b"person", b"person"]),
        "image/object/keypoint/x": floats([0.25, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]),
        "image/object/keypoint/y": floats([0.2, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]),
        "image/object/keypoint/visibility": ints([2, 0, 1, 0, 0, 0, 0, 0]),
        "image/object/keypoint/num": ints([2, 0]),
        "image/object/keypoint/text": strings([name.encode() for name in NAMES] * 2),
    }
    record = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    label_map = LabelMap()
    item = tfod.example_to_item(decode_example(record), label_map)
    points = item.objects.attribute(KEYPOINTS)
    np.testing.assert_allclose(points[0], [[50, 20, 2], [0, 0, 0], [60, 30, 1], [0, 0, 0]], atol=1e-4)
    assert points[1] is None
    assert label_map[1].keypoints == tuple(NAMES)
