"""tfodkit's TFRecord container and Example codec against the real TensorFlow (2.21, .venv-interop).

(a) TensorFlow reads every file tfodkit writes (plain, GZIP, ZLIB) with identical values, and the files are
    byte-identical to tf.io.TFRecordWriter's for the same records;
(b) tfodkit reads every file TensorFlow writes and decodes its SerializeToString() output identically;
    encode_example equals SerializeToString(deterministic=True).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

pytestmark = pytest.mark.interop

tf = pytest.importorskip("tensorflow")

from tfodkit.example import FeatureType, decode_example, encode_example, feature_type  # noqa: E402
from tfodkit.records import RecordWriter, read_records  # noqa: E402

TF_COMPRESSION = {None: "", "gzip": "GZIP", "zlib": "ZLIB"}


def random_features(rng: np.random.Generator, index: int) -> dict:
    """A detection-like record with edge cases: extremes, NaN/inf/-0.0, empty typed lists, non-UTF-8 bytes."""
    boxes = int(rng.integers(0, 6))
    features = {
        "image/height": [int(rng.integers(1, 5000))],
        "image/width": [int(rng.integers(1, 5000))],
        "image/filename": [f"{index:06d}.jpg".encode()],
        "image/encoded": [rng.bytes(int(rng.integers(0, 3000)))],
        "image/object/bbox/xmin": rng.random(boxes).astype(np.float32),
        "image/object/class/label": rng.integers(1, 300, boxes),
        "image/object/class/text": [f"класс {i} ✓".encode() for i in range(boxes)],
        "extremes": np.array([-(2**63), 2**63 - 1, -1, 0, int(rng.integers(-(2**40), 2**40))], np.int64),
        "special": np.array([math.nan, math.inf, -math.inf, -0.0, float(rng.normal())], np.float32),
        "empty/float": np.zeros(0, np.float32),
        "empty/int": np.zeros(0, np.int64),
        "empty/bytes": [],
        "raw": [bytes([0xFF, 0xFE, index % 256]), b""],
        "raw/longer": [b"a key with another key as its prefix"],
        "ключ/ünïcode": [index],
    }
    if index % 3 == 0:
        features["image/object/mask"] = [rng.bytes(40) for _ in range(boxes)]
    return features


def tf_example(features: dict):
    """The same record built with tf.train.Example."""
    feature = {}
    for key, values in features.items():
        kind = feature_type(values)
        if kind is FeatureType.FLOAT:
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(values).tolist()))
        elif kind is FeatureType.INT64:
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(values).tolist()))
        else:
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def values_of(example) -> dict:
    """tfodkit's decoded form of a tf.train.Example."""
    out = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind == "float_list":
            out[key] = np.array(feature.float_list.value, np.float32)
        elif kind == "int64_list":
            out[key] = np.array(feature.int64_list.value, np.int64)
        else:
            out[key] = list(feature.bytes_list.value) if kind else []
    return out


def assert_same(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for key, values in expected.items():
        if isinstance(values, np.ndarray):
            assert isinstance(actual[key], np.ndarray) and actual[key].dtype == values.dtype, key
            assert actual[key].tobytes() == values.tobytes(), key  # bitwise, NaN and -0.0 included
        else:
            assert actual[key] == values, key


@pytest.fixture(scope="module")
def records() -> list[dict]:
    rng = np.random.default_rng(2024)
    return [random_features(rng, index) for index in range(60)]


@pytest.fixture(scope="module")
def large_records() -> list[bytes]:
    """Raw records around and above TF's I/O buffer sizes: incompressible and very compressible ones."""
    rng = np.random.default_rng(7)
    return [b"", rng.bytes(300_000), b"a" * 1_500_000, rng.bytes(70_000), bytes(range(256)) * 5000, b"z"]


# ------------------------------------------------------------------------------------------------- (a) TF reads ours
def test_encode_example_equals_tensorflow_deterministic_serialization(records):
    for features in records:
        assert encode_example(features) == tf_example(features).SerializeToString(deterministic=True)


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_tensorflow_reads_tfodkit_files_with_identical_values(tmp_path, records, compression):
    path = str(tmp_path / "ours.tfrecord")
    with RecordWriter(path, compression) as writer:
        for features in records:
            writer.write(encode_example(features))
    dataset = tf.data.TFRecordDataset(path, compression_type=TF_COMPRESSION[compression])
    read = [tensor.numpy() for tensor in dataset]
    assert len(read) == len(records)
    for data, features in zip(read, records, strict=True):
        assert_same(values_of(tf.train.Example.FromString(data)), decode_example(encode_example(features)))

    # TensorFlow's own parser (the C++ fast path of tf.io.parse_single_example) agrees too.
    spec = {
        "image/height": tf.io.FixedLenFeature([], tf.int64),
        "image/filename": tf.io.FixedLenFeature([], tf.string),
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/object/bbox/xmin": tf.io.VarLenFeature(tf.float32),
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
        "image/object/class/text": tf.io.VarLenFeature(tf.string),
        "extremes": tf.io.VarLenFeature(tf.int64),
        "special": tf.io.VarLenFeature(tf.float32),
        "empty/float": tf.io.VarLenFeature(tf.float32),
        "raw": tf.io.VarLenFeature(tf.string),
        "ключ/ünïcode": tf.io.FixedLenFeature([], tf.int64),
    }
    for data, features in zip(read, records, strict=True):
        parsed = tf.io.parse_single_example(data, spec)
        assert int(parsed["image/height"]) == features["image/height"][0]
        assert parsed["image/filename"].numpy() == features["image/filename"][0]
        assert parsed["image/encoded"].numpy() == features["image/encoded"][0]
        assert parsed["image/object/bbox/xmin"].values.numpy().tobytes() == features["image/object/bbox/xmin"].tobytes()
        labels = features["image/object/class/label"].tolist()
        assert parsed["image/object/class/label"].values.numpy().tolist() == labels
        assert parsed["image/object/class/text"].values.numpy().tolist() == features["image/object/class/text"]
        assert parsed["extremes"].values.numpy().tolist() == features["extremes"].tolist()
        assert parsed["special"].values.numpy().tobytes() == features["special"].tobytes()
        assert parsed["empty/float"].values.numpy().size == 0
        assert parsed["raw"].values.numpy().tolist() == features["raw"]
        assert int(parsed["ключ/ünïcode"]) == features["ключ/ünïcode"][0]


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_files_are_byte_identical_to_tensorflows_writer(tmp_path, records, large_records, compression):
    payloads = [encode_example(features) for features in records] + large_records
    ours = str(tmp_path / "ours.tfrecord")
    theirs = str(tmp_path / "theirs.tfrecord")
    with RecordWriter(ours, compression) as writer:
        for data in payloads:
            writer.write(data)
    options = tf.io.TFRecordOptions(compression_type=TF_COMPRESSION[compression])
    with tf.io.TFRecordWriter(theirs, options=options) as writer:
        for data in payloads:
            writer.write(data)
    with open(ours, "rb") as mine, open(theirs, "rb") as reference:
        assert mine.read() == reference.read()


# ------------------------------------------------------------------------------------------------- (b) we read TF's
@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_tfodkit_reads_tensorflow_files(tmp_path, records, large_records, compression):
    path = str(tmp_path / "theirs.tfrecord")
    serialized = [tf_example(features).SerializeToString() for features in records]  # TF's own (hash) order
    payloads = serialized + large_records
    options = tf.io.TFRecordOptions(compression_type=TF_COMPRESSION[compression])
    with tf.io.TFRecordWriter(path, options=options) as writer:
        for data in payloads:
            writer.write(data)
    assert list(read_records(path)) == payloads  # compression detected from the bytes
    assert list(read_records(path, compression=compression)) == payloads
    for data, features in zip(serialized, records, strict=True):
        decoded = decode_example(data)
        assert_same(decoded, values_of(tf.train.Example.FromString(data)))
        assert_same(decoded, decode_example(encode_example(features)))
        assert encode_example(decoded) == tf.train.Example.FromString(data).SerializeToString(deterministic=True)


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"])
def test_tfodkit_reads_files_written_by_tf_data(tmp_path, records, compression):
    """tf.data's own writer op (tf.data.experimental.TFRecordWriter) is another code path in TensorFlow."""
    path = str(tmp_path / "tfdata.tfrecord")
    serialized = [tf_example(features).SerializeToString() for features in records[:20]]
    tf.data.experimental.TFRecordWriter(path, compression_type=TF_COMPRESSION[compression]).write(
        tf.data.Dataset.from_tensor_slices(serialized)
    )
    assert list(read_records(path)) == serialized


def test_batched_parse_example_on_tfodkit_records(tmp_path, records):
    path = os.path.join(tmp_path, "batched.tfrecord")
    with RecordWriter(path) as writer:
        for features in records:
            writer.write(encode_example(features))
    spec = {
        "image/width": tf.io.FixedLenFeature([], tf.int64),
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    }
    widths, labels = [], []
    for batch in tf.data.TFRecordDataset(path).batch(16).map(lambda b: tf.io.parse_example(b, spec)):
        widths.extend(batch["image/width"].numpy().tolist())
        labels.extend(batch["image/object/class/label"].values.numpy().tolist())
    assert widths == [features["image/width"][0] for features in records]
    assert labels == [label for features in records for label in features["image/object/class/label"].tolist()]
