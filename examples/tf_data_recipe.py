"""tf.data over tfodkit's TFRecords: the recipe for TensorFlow users (tested by tests/interop/test_scale_interop.py).

tfodkit writes the keys the TF OD API's decoder and CVAT/Datumaro read, so the plain ``tf.data`` pipeline works
on its output (shards included) with no tfodkit code at training time::

    tfod convert VOCdevkit/VOC2007 out/voc.tfrecord --from voc --to tfrecord --shards 8
    python examples/tf_data_recipe.py 'out/voc-*-of-00008.tfrecord'
"""

from __future__ import annotations

import sys

import tensorflow as tf

# The CVAT / Datumaro "TFRecord 1.0" keys (every tfodkit record has them); per-object lists are VarLen.
FEATURES = {
    "image/filename": tf.io.FixedLenFeature([], tf.string),
    "image/source_id": tf.io.FixedLenFeature([], tf.string),
    "image/height": tf.io.FixedLenFeature([], tf.int64),
    "image/width": tf.io.FixedLenFeature([], tf.int64),
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/format": tf.io.FixedLenFeature([], tf.string),
    "image/key/sha256": tf.io.FixedLenFeature([], tf.string),
    "image/object/bbox/xmin": tf.io.VarLenFeature(tf.float32),
    "image/object/bbox/xmax": tf.io.VarLenFeature(tf.float32),
    "image/object/bbox/ymin": tf.io.VarLenFeature(tf.float32),
    "image/object/bbox/ymax": tf.io.VarLenFeature(tf.float32),
    "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    "image/object/class/text": tf.io.VarLenFeature(tf.string),
}


def record_dataset(pattern: str, *, shuffle_files: bool = False, compression_type: str = "") -> tf.data.Dataset:
    """Serialized records of every file matching ``pattern`` (e.g. ``out/train-*-of-00008.tfrecord``), files
    read in parallel; ``compression_type`` is ``""``, ``"GZIP"`` or ``"ZLIB"`` (tfod ``--compression``)."""
    files = tf.data.Dataset.list_files(pattern, shuffle=shuffle_files)
    return files.interleave(
        lambda file: tf.data.TFRecordDataset(file, compression_type=compression_type),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not shuffle_files,
    )


def annotation_batches(pattern: str, batch_size: int = 64) -> tf.data.Dataset:
    """Batches of parsed features (``tf.io.parse_example``; per-object lists as ``tf.SparseTensor``)."""
    return (
        record_dataset(pattern)
        .batch(batch_size)
        .map(lambda serialized: tf.io.parse_example(serialized, FEATURES), num_parallel_calls=tf.data.AUTOTUNE)
    )


def decode_detection(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One record → ``image`` (uint8 H×W×3), ``boxes`` (normalized ``[ymin, xmin, ymax, xmax]``, the OD API's
    order), ``labels`` (label-map ids), ``texts`` and ``filename``. Needs embedded images (tfod's default)."""
    features = tf.io.parse_single_example(serialized, FEATURES)
    dense = {key: tf.sparse.to_dense(value) for key, value in features.items() if isinstance(value, tf.SparseTensor)}
    boxes = tf.stack([dense[f"image/object/bbox/{side}"] for side in ("ymin", "xmin", "ymax", "xmax")], axis=1)
    image = tf.io.decode_image(features["image/encoded"], channels=3, expand_animations=False)
    return {
        "image": image,
        "boxes": boxes,
        "labels": dense["image/object/class/label"],
        "texts": dense["image/object/class/text"],
        "filename": features["image/filename"],
    }


def detection_dataset(pattern: str, *, shuffle_files: bool = False) -> tf.data.Dataset:
    """Decoded detection examples, ready for ``.shuffle()``, ``.padded_batch()``, ``.prefetch()``."""
    return record_dataset(pattern, shuffle_files=shuffle_files).map(
        decode_detection, num_parallel_calls=tf.data.AUTOTUNE
    )


if __name__ == "__main__":
    for example in detection_dataset(sys.argv[1]).take(3):
        print(example["filename"].numpy().decode(), example["image"].shape, example["boxes"].numpy().round(3).tolist())
