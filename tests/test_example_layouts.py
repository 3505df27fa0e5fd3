"""The decoder's fast paths on the key layouts real tools write, checked against the protobuf runtime.

One generator per writer (the TF OD API's VOC and COCO tools, Datumaro, Roboflow, tfodkit itself), serialized
by protobuf (upb, the runtime TensorFlow uses: its own map order) or by tfodkit. For each record the decoded
values must be the same with an empty plan table, with a warm one, and from protobuf; damaged records must
give the same error at the same offset, warm or cold.
"""

from __future__ import annotations

import hashlib
import random
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfodkit.errors import ExampleDecodeError
from tfodkit.example import decode as decoder
from tfodkit.example import decode_example, encode_example

pytest.importorskip("google.protobuf")
from test_example import Example, assert_same_features, from_proto, to_proto  # noqa: E402

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "person", "pottedplant", "tvmonitor")


def _png(rng: random.Random, size: int) -> bytes:
    """A PNG-like blob (signature, a zlib body): masks are bytes values of varying length."""
    return b"\x89PNG\r\n\x1a\n" + zlib.compress(rng.randbytes(size), 1)


def _boxes(rng: random.Random, count: int) -> dict:
    xmin = [rng.random() * 0.5 for _ in range(count)]
    ymin = [rng.random() * 0.5 for _ in range(count)]
    return {
        "image/object/bbox/xmin": np.array(xmin, np.float32),
        "image/object/bbox/xmax": np.array([x + 0.3 for x in xmin], np.float32),
        "image/object/bbox/ymin": np.array(ymin, np.float32),
        "image/object/bbox/ymax": np.array([y + 0.3 for y in ymin], np.float32),
    }


def _image(rng: random.Random, size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + rng.randbytes(size) + b"\xff\xd9"


def od_api_voc(rng: random.Random, objects: int, image_size: int) -> dict:
    """create_pascal_tf_record.py: the full VOC key set (text, difficult, truncated, view)."""
    image = _image(rng, image_size)
    names = [rng.choice(VOC_CLASSES) for _ in range(objects)]
    filename = f"2008_{rng.randrange(10**6):06d}.jpg".encode()
    return {
        "image/height": np.array([rng.choice((375, 333, 500, 96))], np.int64),
        "image/width": np.array([500], np.int64),
        "image/filename": [filename],
        "image/source_id": [filename],
        "image/key/sha256": [hashlib.sha256(image).hexdigest().encode()],
        "image/encoded": [image],
        "image/format": [b"jpeg"],
        **_boxes(rng, objects),
        "image/object/class/text": [name.encode() for name in names],
        "image/object/class/label": np.array([VOC_CLASSES.index(name) + 1 for name in names], np.int64),
        "image/object/difficult": np.array([int(rng.random() < 0.1) for _ in names], np.int64),
        "image/object/truncated": np.array([rng.randint(0, 1) for _ in names], np.int64),
        "image/object/view": [rng.choice((b"Unspecified", b"Left", b"Frontal")) for _ in names],
    }


def od_api_coco(rng: random.Random, objects: int, image_size: int) -> dict:
    """create_coco_tf_record.py: is_crowd, area, COCO ids as labels (up to 90), PNG masks."""
    image = _image(rng, image_size)
    labels = [rng.randint(1, 90) for _ in range(objects)]
    return {
        "image/height": np.array([rng.randint(200, 640)], np.int64),
        "image/width": np.array([640], np.int64),
        "image/filename": [b"%012d.jpg" % rng.randrange(600000)],
        "image/source_id": [b"%d" % rng.randrange(600000)],
        "image/key/sha256": [hashlib.sha256(image).hexdigest().encode()],
        "image/encoded": [image],
        "image/format": [b"jpeg"],
        **_boxes(rng, objects),
        "image/object/class/text": [b"class_%d" % label for label in labels],
        "image/object/class/label": np.array(labels, np.int64),
        "image/object/is_crowd": np.array([int(rng.random() < 0.05) for _ in labels], np.int64),
        "image/object/area": np.array([rng.random() * 30000 for _ in labels], np.float32),
        "image/object/mask": [_png(rng, rng.randint(10, 400)) for _ in labels],
    }


def datumaro(rng: random.Random, objects: int, image_size: int) -> dict:
    """Datumaro's tf_detection_api export: source_id may be empty, class/label + text, masks."""
    image = _image(rng, image_size)
    labels = [rng.randint(1, 20) for _ in range(objects)]
    features = {
        "image/height": np.array([480], np.int64),
        "image/width": np.array([640], np.int64),
        "image/encoded": [image],
        "image/format": [b"jpg"],
        "image/filename": [b"frame_%06d.jpg" % rng.randrange(10**6)],
        "image/source_id": [rng.choice((b"", b"17"))],
        "image/key/sha256": [hashlib.sha256(image).hexdigest().encode()],
        **_boxes(rng, objects),
        "image/object/class/label": np.array(labels, np.int64),
        "image/object/class/text": [b"label_%d" % label for label in labels],
    }
    if rng.random() < 0.5:
        features["image/object/mask"] = [_png(rng, rng.randint(10, 200)) for _ in labels]
    return features


def roboflow(rng: random.Random, objects: int, image_size: int) -> dict:
    """Roboflow's "Tensorflow TFRecord" export: filename, sizes, encoded, format, boxes, class text and label."""
    labels = [rng.randint(1, 5) for _ in range(objects)]
    return {
        "image/filename": [b"img_%d_jpg.rf.%032x.jpg" % (rng.randrange(1000), rng.getrandbits(128))],
        "image/height": np.array([416], np.int64),
        "image/width": np.array([416], np.int64),
        "image/encoded": [_image(rng, image_size)],
        "image/format": [b"jpeg"],
        **_boxes(rng, objects),
        "image/object/class/text": [b"helmet" if label == 1 else b"head" for label in labels],
        "image/object/class/label": np.array(labels, np.int64),
    }


LAYOUTS = {"od_api_voc": od_api_voc, "od_api_coco": od_api_coco, "datumaro": datumaro, "roboflow": roboflow}


def serialized(layout: str, seed: int, objects: int, image_size: int, writer: str) -> bytes:
    features = LAYOUTS[layout](random.Random(seed), objects, image_size)
    if writer == "tfodkit":
        return encode_example(features)
    return to_proto(features, Example).SerializeToString()  # upb: the map order TensorFlow's writers give


def outcome(data: bytes):
    try:
        return "ok", decode_example(data)
    except ExampleDecodeError as error:
        return "error", (str(error), error.offset)


def agree(first, second) -> None:
    assert first[0] == second[0]
    if first[0] == "ok":
        assert_same_features(second[1], first[1])
    else:
        assert second[1] == first[1]


@pytest.fixture
def empty_plans():
    saved = dict(decoder._ENTRY_PLANS)
    decoder._ENTRY_PLANS.clear()
    yield decoder._ENTRY_PLANS
    decoder._ENTRY_PLANS.clear()
    decoder._ENTRY_PLANS.update(saved)


# Objects: none, one, a few, and 40 (box lists of 160 bytes: two-byte lengths); images small and above 16 KiB.
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("writer", ["protobuf", "tfodkit"])
@pytest.mark.parametrize("objects, image_size", [(0, 300), (1, 20000), (3, 90000), (40, 20000), (200, 300)])
def test_every_layout_decodes_like_protobuf_warm_and_cold(layout, writer, objects, image_size, empty_plans):
    records = [serialized(layout, seed, objects, image_size, writer) for seed in range(3)]
    cold = [decode_example(data) for data in records[:1]]  # the first record meets an empty table
    assert empty_plans or objects == 0  # it learned plans
    warm = [decode_example(data) for data in records]
    for data, features in zip(records, warm, strict=True):
        assert_same_features(features, from_proto(Example.FromString(data)))
    assert_same_features(cold[0], warm[0])


def test_the_fast_paths_are_taken(empty_plans):
    """Short entries and two-byte-length number lists get plans; the image takes the call-free path."""
    data = serialized("od_api_voc", 1, 40, 90000, "protobuf")
    decode_example(data)
    kinds = {plan[0]: plan[1] for plan in empty_plans.values()}
    assert kinds["image/object/bbox/xmin"] == decoder._FLOATS  # 160 bytes: a long plan
    assert kinds["image/object/class/label"] == decoder._INTS
    assert kinds["image/width"] == decoder._INT_TWO  # 500: one two-byte varint
    assert kinds["image/filename"] == decoder._BYTES_ONE
    assert "image/encoded" not in kinds and "image/object/view" not in kinds  # long bytes: never planned
    one = serialized("od_api_voc", 2, 1, 300, "protobuf")
    decode_example(one)
    kinds = {plan[0]: plan[1] for plan in empty_plans.values()}
    assert kinds["image/object/difficult"] == decoder._INT_ONE


@settings(max_examples=300, deadline=None)
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    objects=st.sampled_from([0, 1, 2, 5, 40]),
    image_size=st.sampled_from([50, 17000]),
    mutation=st.data(),
)
def test_damaged_records_of_every_layout_fail_alike_warm_and_cold(layout, objects, image_size, mutation):
    data = bytearray(serialized(layout, 7, objects, image_size, "protobuf"))
    for _ in range(mutation.draw(st.integers(0, 3))):
        data[mutation.draw(st.integers(0, len(data) - 1))] = mutation.draw(st.integers(0, 255))
    damaged = bytes(data[: mutation.draw(st.integers(1, len(data)))])
    saved = dict(decoder._ENTRY_PLANS)
    try:
        decoder._ENTRY_PLANS.clear()
        cold = outcome(damaged)
        decode_example(serialized(layout, 7, objects, image_size, "protobuf"))  # learn the intact headers
        agree(cold, outcome(damaged))
        agree(cold, outcome(damaged))  # and the ones learned from the damaged record itself
    finally:
        decoder._ENTRY_PLANS.clear()
        decoder._ENTRY_PLANS.update(saved)


@pytest.mark.parametrize("length", [16383, 16384, 16385, 2**21 - 30, 2**21 + 5])
def test_image_lengths_around_the_varint_boundaries(length, empty_plans):
    """Entries whose length varints change size (2 -> 3 -> 4 bytes) decode like protobuf."""
    features = {"image/encoded": [bytes(length)], "image/height": [480]}
    for data in (encode_example(features), to_proto(features, Example).SerializeToString()):
        assert_same_features(decode_example(data), from_proto(Example.FromString(data)))


def plain_decode(data: bytes) -> dict:
    """The general parser alone (no plans, no fast paths): tag by tag, every entry through ``_decode_entry``."""
    out: dict = {}
    pos, end = 0, len(data)
    while pos < end:
        tag_offset = pos
        tag, pos = decoder._read_tag(data, pos, end)
        if tag != 0x0A:
            pos = decoder._skip_field(data, tag, pos, end, tag_offset)
            continue
        stop, at = decoder._read_length(data, pos, end)
        while at < stop:
            entry_offset = at
            field, at = decoder._read_tag(data, at, stop)
            if field != 0x0A:
                at = decoder._skip_field(data, field, at, stop, entry_offset)
                continue
            entry_end, at = decoder._read_length(data, at, stop)
            key, value = decoder._decode_entry(data, at, entry_end)
            out[key] = value
            at = entry_end
        pos = stop
    return out


def plain_outcome(data: bytes):
    try:
        return "ok", plain_decode(data)
    except ExampleDecodeError as error:
        return "error", (str(error), error.offset)


@settings(max_examples=300, deadline=None)
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    objects=st.sampled_from([0, 1, 3, 40]),
    image_size=st.sampled_from([50, 17000]),
    writer=st.sampled_from(["protobuf", "tfodkit"]),
    mutation=st.data(),
)
def test_fast_paths_match_the_plain_parser_on_damaged_records(layout, objects, image_size, writer, mutation):
    """Warm plans, the image path and the general parser alone: the same values or the same error and offset."""
    data = bytearray(serialized(layout, 11, objects, image_size, writer))
    for _ in range(mutation.draw(st.integers(0, 2))):
        data[mutation.draw(st.integers(0, len(data) - 1))] = mutation.draw(st.integers(0, 255))
    damaged = bytes(data[: mutation.draw(st.integers(1, len(data)))])
    decode_example(serialized(layout, 11, objects, image_size, writer))  # warm plans for the intact headers
    agree(plain_outcome(damaged), outcome(damaged))
