"""The tf.train.Example codec, checked against the protobuf runtime (a descriptor built at run time)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tfodkit.errors import ExampleDecodeError, FormatError
from tfodkit.example import FeatureType, decode_example, encode_example, feature_type

protobuf = pytest.importorskip("google.protobuf")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402

FDP = descriptor_pb2.FieldDescriptorProto


def build_example_class(*, packed: bool = True, extra_fields: bool = False):
    """``tensorflow.Example`` from feature.proto/example.proto, in a private pool.

    ``packed=False`` gives a variant that writes repeated numbers unpacked (legal protobuf a reader must take);
    ``extra_fields`` adds fields tfodkit does not know (to every message) to produce unknown fields on the wire.
    """
    file = descriptor_pb2.FileDescriptorProto(
        name=f"example_{packed}_{extra_fields}.proto", package="tensorflow", syntax="proto3"
    )
    optional, repeated = FDP.LABEL_OPTIONAL, FDP.LABEL_REPEATED

    def add_message(name):
        message = file.message_type.add(name=name)
        if extra_fields:
            message.field.add(name="x_varint", number=90, type=FDP.TYPE_INT64, label=optional)
            message.field.add(name="x_fixed64", number=91, type=FDP.TYPE_FIXED64, label=optional)
            message.field.add(name="x_bytes", number=92, type=FDP.TYPE_BYTES, label=optional)
            message.field.add(name="x_fixed32", number=93, type=FDP.TYPE_FIXED32, label=optional)
        return message

    add_message("BytesList").field.add(name="value", number=1, type=FDP.TYPE_BYTES, label=repeated)
    for name, type_ in (("FloatList", FDP.TYPE_FLOAT), ("Int64List", FDP.TYPE_INT64)):
        field = add_message(name).field.add(name="value", number=1, type=type_, label=repeated)
        field.options.packed = packed
    feature = add_message("Feature")
    feature.oneof_decl.add(name="kind")
    for number, name in enumerate(("bytes_list", "float_list", "int64_list"), start=1):
        list_types = {"bytes_list": "BytesList", "float_list": "FloatList", "int64_list": "Int64List"}
        type_name = ".tensorflow." + list_types[name]
        feature.field.add(
            name=name, number=number, type=FDP.TYPE_MESSAGE, label=optional, type_name=type_name, oneof_index=0
        )
    features = add_message("Features")
    features.field.add(
        name="feature", number=1, type=FDP.TYPE_MESSAGE, label=repeated, type_name=".tensorflow.Features.FeatureEntry"
    )
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=FDP.TYPE_STRING, label=optional)
    entry.field.add(name="value", number=2, type=FDP.TYPE_MESSAGE, label=optional, type_name=".tensorflow.Feature")
    add_message("Example").field.add(
        name="features", number=1, type=FDP.TYPE_MESSAGE, label=optional, type_name=".tensorflow.Features"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.Example"))


Example = build_example_class()
UnpackedExample = build_example_class(packed=False)
ExtendedExample = build_example_class(extra_fields=True)


def to_proto(features: dict, example_class=Example):
    """A protobuf Example from tfodkit's decoded form (list[bytes] | float32 array | int64 array)."""
    example = example_class()
    example.features.SetInParent()
    for key, values in features.items():
        feature = example.features.feature[key]
        kind = feature_type(values)
        if kind is FeatureType.FLOAT:
            feature.float_list.SetInParent()
            feature.float_list.value.extend(np.asarray(values, np.float32).tolist())
        elif kind is FeatureType.INT64:
            feature.int64_list.SetInParent()
            feature.int64_list.value.extend(np.asarray(values).astype(np.int64).tolist())
        else:
            feature.bytes_list.SetInParent()
            feature.bytes_list.value.extend(v.encode() if isinstance(v, str) else bytes(v) for v in values)
    return example


def from_proto(example) -> dict:
    """tfodkit's decoded form of a protobuf Example."""
    out = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind == "float_list":
            out[key] = np.array(feature.float_list.value, np.float32)
        elif kind == "int64_list":
            out[key] = np.array(feature.int64_list.value, np.int64)
        elif kind == "bytes_list":
            out[key] = list(feature.bytes_list.value)
        else:
            out[key] = []
    return out


def assert_same_features(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for key, values in expected.items():
        got = actual[key]
        if isinstance(values, np.ndarray):
            assert isinstance(got, np.ndarray) and got.dtype == values.dtype, key
            assert got.tobytes() == values.tobytes(), key  # bitwise: NaN payloads and -0.0 included
        else:
            assert got == values, key


# ------------------------------------------------------------------------------------------------- hypothesis
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)
float32s = st.floats(width=32, allow_nan=True, allow_infinity=True)
keys = st.text(max_size=12)
feature_values = st.one_of(
    st.lists(st.binary(max_size=40), max_size=5),
    st.lists(int64s, max_size=6).map(lambda v: np.array(v, np.int64)),
    st.lists(float32s, max_size=6).map(lambda v: np.array(v, np.float32)),
)
feature_dicts = st.dictionaries(keys, feature_values, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(features=feature_dicts)
def test_encode_equals_protobuf_deterministic_and_round_trips(features):
    encoded = encode_example(features)
    assert encoded == to_proto(features).SerializeToString(deterministic=True)
    decoded = decode_example(encoded)
    assert_same_features(decoded, features)
    assert encode_example(decoded) == encoded
    assert_same_features(from_proto(Example.FromString(encoded)), features)


@settings(max_examples=200, deadline=None)
@given(features=feature_dicts)
def test_decodes_protobuf_output_in_any_layout(features):
    proto = to_proto(features)
    for data in (proto.SerializeToString(), to_proto(features, UnpackedExample).SerializeToString()):
        assert_same_features(decode_example(data), features)


@settings(max_examples=200, deadline=None)
@given(features=feature_dicts, junk=st.integers(0, 2**64 - 1), blob=st.binary(max_size=20))
def test_unknown_fields_are_skipped(features, junk, blob):
    proto = to_proto(features, ExtendedExample)
    targets = [proto, proto.features]
    for feature in proto.features.feature.values():
        targets.append(feature)
        for kind in ("bytes_list", "float_list", "int64_list"):
            if feature.HasField(kind):
                targets.append(getattr(feature, kind))
    for target in targets:
        target.x_varint = junk - 2**63
        target.x_fixed64 = junk
        target.x_bytes = blob
        target.x_fixed32 = junk & 0xFFFFFFFF
    assert_same_features(decode_example(proto.SerializeToString()), features)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=60))
def test_arbitrary_bytes_decode_like_protobuf_or_raise_decode_error(data):
    try:
        ours = decode_example(data)
    except ExampleDecodeError as error:
        assert error.offset is not None and 0 <= error.offset <= len(data)
        ours = None
    try:
        theirs = from_proto(Example.FromString(data))
    except DecodeError:
        theirs = None
    if theirs is not None:
        assert ours is not None
        assert_same_features(ours, theirs)
    elif ours is not None:
        # protobuf checks that proto3 string keys are UTF-8; TensorFlow's parser and tfodkit do not.
        assert any(any(0xDC80 <= ord(char) <= 0xDCFF for char in key) for key in ours)


@settings(max_examples=150, deadline=None)
@given(features=feature_dicts, mutation=st.data())
def test_mutated_examples_never_raise_anything_but_decode_error(features, mutation):
    data = bytearray(encode_example(features))
    assume(len(data) > 2)
    for _ in range(mutation.draw(st.integers(1, 4))):
        data[mutation.draw(st.integers(0, len(data) - 1))] = mutation.draw(st.integers(0, 255))
    try:
        decode_example(bytes(data))
    except ExampleDecodeError:
        pass


# ------------------------------------------------------------------------------------------------- wire details
def test_wire_details_from_the_design():
    assert encode_example({"a": [0.1, 0.2]}).hex().endswith("0a08cdcccc3dcdcc4c3e")
    assert encode_example({"a": np.zeros(0, np.float32)}).endswith(b"\x12\x00")
    negative = encode_example({"a": [-1]})
    assert negative.endswith(b"\x0a\x0a" + b"\xff" * 9 + b"\x01")
    assert encode_example({}) == b"\x0a\x00"


def test_keys_are_in_protobufs_deterministic_order():
    # upb's order: UTF-8 bytes ascending, but a key comes after the longer keys it is a prefix of.
    features = {"b": [1], "a": [2], "é": [3], "\U0001f600": [4], "z": [5], "": [6], "ab": [7], "a/b": [8]}
    assert encode_example(features) == to_proto(features).SerializeToString(deterministic=True)
    assert list(decode_example(encode_example(features))) == ["a/b", "ab", "a", "b", "z", "é", "\U0001f600", ""]


def test_int64_extremes_and_special_floats():
    features = {
        "i": np.array([-(2**63), 2**63 - 1, -1, 0, 1, 127, 128, 300, -300], np.int64),
        "f": np.array([math.nan, math.inf, -math.inf, -0.0, 3.4028235e38, 1e-45], np.float32),
        "b": [b"\xff\xfe\x00", b""],
    }
    decoded = decode_example(encode_example(features))
    assert_same_features(decoded, features)
    assert math.copysign(1, decoded["f"][3]) == -1


def test_long_packed_varint_lists_use_every_path():
    rng = np.random.default_rng(1)
    for values in (
        rng.integers(0, 128, 1000),
        rng.integers(-(2**63), 2**63 - 1, 1000, dtype=np.int64),
        rng.integers(0, 2**20, 40),
        np.array([2**63 - 1] * 3 + [5] * 30),
    ):
        features = {"v": np.asarray(values, np.int64)}
        data = encode_example(features)
        assert data == to_proto(features).SerializeToString(deterministic=True)
        assert_same_features(decode_example(data), features)


def test_python_values_and_the_type_rules():
    features = {
        "str": "café",
        "strs": ["a", "b"],
        "bytes": b"\x00\x01",
        "int": 7,
        "bools": [True, False],
        "float": 0.5,
        "mixed_numbers": [1, 2.5],
        "empty": [],
        "tuple": (1, 2),
        "typed_empty_float": np.zeros(0, np.float64),
        "typed_empty_int": np.zeros(0, np.int32),
        "numpy_scalar": np.float32(1.5),
        "uint8": np.array([255, 0], np.uint8),
        "matrix": np.arange(6, dtype=np.float32).reshape(2, 3),
        "object_array": np.array([b"x", b"yz"], dtype=object),
        "str_array": np.array(["p", "q"]),
        "bytearray_item": [bytearray(b"ab"), memoryview(b"cd")],
    }
    decoded = decode_example(encode_example(features))
    assert decoded["str"] == ["café".encode()]
    assert decoded["strs"] == [b"a", b"b"]
    assert decoded["bytes"] == [b"\x00\x01"]
    assert decoded["int"].tolist() == [7] and decoded["int"].dtype == np.int64
    assert decoded["bools"].tolist() == [1, 0]
    assert decoded["float"].tolist() == [0.5] and decoded["float"].dtype == np.float32
    assert decoded["mixed_numbers"].tolist() == [1.0, 2.5]
    assert decoded["empty"] == []
    assert decoded["tuple"].tolist() == [1, 2]
    assert decoded["typed_empty_float"].dtype == np.float32 and decoded["typed_empty_float"].size == 0
    assert decoded["typed_empty_int"].dtype == np.int64 and decoded["typed_empty_int"].size == 0
    assert decoded["numpy_scalar"].tolist() == [1.5]
    assert decoded["uint8"].tolist() == [255, 0]
    assert decoded["matrix"].tolist() == [0, 1, 2, 3, 4, 5]
    assert decoded["object_array"] == [b"x", b"yz"]
    assert decoded["str_array"] == [b"p", b"q"]
    assert decoded["bytearray_item"] == [b"ab", b"cd"]
    assert feature_type([]) is FeatureType.BYTES
    assert feature_type(np.zeros(0, np.float32)) is FeatureType.FLOAT
    assert feature_type(decoded["typed_empty_int"]) is FeatureType.INT64
    assert feature_type([True]) is FeatureType.INT64


def test_float64_beyond_float32_becomes_infinity_like_protobuf():
    features = {"f": [1e300, -1e300]}
    decoded = decode_example(encode_example(features))
    assert decoded["f"].tolist() == [math.inf, -math.inf]
    assert encode_example(features) == encode_example({"f": np.array([np.inf, -np.inf], np.float32)})


@pytest.mark.parametrize(
    "features",
    [
        {"k": [1, b"x"]},
        {"k": [b"x", 1]},
        {"k": [2**64]},
        {"k": [-(2**63) - 1]},
        {"k": np.array([2**63], np.uint64)},
        {"k": [None]},
        {"k": object()},
        {"k": np.array([1 + 2j])},
        {"k": ["\udc00"]},
        {1: [1]},
        {"é": [1], "\udcc3\udca9": [2]},  # two keys with the same UTF-8 bytes
    ],
)
def test_values_that_cannot_be_encoded_are_format_errors(features):
    with pytest.raises(FormatError):
        encode_example(features)


def test_decode_accepts_bytes_likes():
    data = encode_example({"a": [1.5], "b": [b"x"]})
    for form in (bytearray(data), memoryview(data)):
        assert_same_features(decode_example(form), {"a": np.array([1.5], np.float32), "b": [b"x"]})


def test_decoded_arrays_are_writable_copies():
    decoded = decode_example(encode_example({"f": [1.0, 2.0], "i": [1, 2] * 20}))
    decoded["f"][0] = 9
    decoded["i"][0] = 9
    assert decoded["f"].base is None or decoded["f"].base.__class__ is not bytes


# ------------------------------------------------------------------------------------------------- protobuf merge rules
def feature_entry(key: bytes, feature: bytes) -> bytes:
    entry = b"\x0a" + bytes([len(key)]) + key + b"\x12" + bytes([len(feature)]) + feature
    return b"\x0a" + bytes([len(entry)]) + entry


def example_of(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return b"\x0a" + bytes([len(body)]) + body


FLOAT_1 = b"\x12\x06\x0a\x04" + struct.pack("<f", 1.0)
FLOAT_2 = b"\x12\x06\x0a\x04" + struct.pack("<f", 2.0)
BYTES_X = b"\x0a\x03\x0a\x01x"


@pytest.mark.parametrize(
    "data",
    [
        example_of(feature_entry(b"k", BYTES_X), feature_entry(b"k", FLOAT_1)),  # repeated key: last wins
        example_of(feature_entry(b"k", BYTES_X + FLOAT_1)),  # oneof: the last member wins
        example_of(feature_entry(b"k", FLOAT_1 + FLOAT_2)),  # the same member twice: merged
        example_of(feature_entry(b"k", FLOAT_1 + BYTES_X + FLOAT_2)),  # switching clears the first floats
        example_of(feature_entry(b"k", b"")),  # a feature with no kind
        example_of(feature_entry(b"k", b"\x12\x00")) + example_of(feature_entry(b"j", BYTES_X)),  # two Features
        example_of(b"\x0a\x00"),  # an entry with no key and no value
        example_of(feature_entry(b"k", b"\x1a\x04\x08\x05\x08\x7f")),  # unpacked int64s
        example_of(
            feature_entry(b"k", b"\x12\x0b\x0d" + struct.pack("<f", 1.0) + b"\x0a\x04" + struct.pack("<f", 2.0))
        ),
        # nested unknown groups
        b"\x2b\x08\x01\x1b\x0d\x00\x00\x00\x00\x1c\x2c" + example_of(feature_entry(b"k", BYTES_X)),
        example_of(feature_entry(b"k", b"\x1a\x0b\x0a\x09" + b"\x80" * 8 + b"\x00")),  # an overlong varint
    ],
)
def test_protobuf_merge_and_wire_rules(data):
    assert_same_features(decode_example(data), from_proto(Example.FromString(data)))


def test_empty_lists_at_the_very_end_of_the_data():
    for features in ({"k": []}, {"": []}, {"k": np.zeros(0, np.float32)}, {"k": np.zeros(0, np.int64)}):
        data = encode_example(features)
        assert_same_features(decode_example(data), features)
        assert_same_features(decode_example(data + b""), from_proto(Example.FromString(data)))


def test_feature_with_no_kind_is_an_empty_bytes_list():
    data = example_of(feature_entry(b"k", b""))
    assert decode_example(data) == {"k": []}


def test_non_utf8_key_round_trips_with_surrogateescape():
    data = example_of(feature_entry(b"\xff", BYTES_X))
    decoded = decode_example(data)
    assert list(decoded) == ["\udcff"]
    assert encode_example(decoded) == data


# ------------------------------------------------------------------------------------------------- malformed data
def test_every_truncation_is_a_decode_error_with_an_offset():
    data = encode_example(
        {"image/encoded": [b"\xff" * 300], "boxes": np.arange(40, dtype=np.float32), "labels": list(range(100, 160))}
    )
    for cut in range(1, len(data)):
        with pytest.raises(ExampleDecodeError) as caught:
            decode_example(data[:cut])
        assert 0 <= caught.value.offset <= cut


@pytest.mark.parametrize(
    "data, offset",
    [
        (b"\x0a\x05\x0a\x03", 1),  # length past the end
        (b"\x0f", 0),  # wire type 7
        (b"\x0e", 0),  # wire type 6
        (b"\x0c", 0),  # END_GROUP without START_GROUP
        (b"\x0b\x08\x01", 0),  # unterminated group
        (b"\x0b\x14", 1),  # END_GROUP of another field
        (b"\x08" + b"\x80" * 10 + b"\x01", 1),  # varint longer than 10 bytes
        (b"\x00\x00", 0),  # field number 0
        (example_of(feature_entry(b"k", b"\x12\x03\x0a\x01\x00")), 11),  # 1 byte of packed float
        (example_of(feature_entry(b"k", b"\x1a\x03\x0a\x01\x80")), 13),  # truncated packed varint
    ],
)
def test_malformed_wire_data(data, offset):
    with pytest.raises(ExampleDecodeError) as caught:
        decode_example(data)
    assert caught.value.offset == offset


# ------------------------------------------------------------------------------------------------- entry plans
def detection_like(boxes: int, name: bytes = b"00000001.jpg") -> dict:
    return {
        "image/encoded": [b"\xff\xd8" + bytes(300)],
        "image/filename": [name],
        "image/height": [480],
        "image/object/bbox/xmin": np.linspace(0, 0.5, boxes, dtype=np.float32),
        "image/object/class/label": np.arange(1, boxes + 1),
        "image/object/class/text": [b"class_%d" % index for index in range(boxes)],
        "image/object/difficult": np.zeros(boxes, np.int64),
    }


def decode_outcome(data: bytes):
    """The features, or the error message and offset: what a decode gives, to compare two decoder states."""
    try:
        return "ok", decode_example(data)
    except ExampleDecodeError as error:
        return "error", (str(error), error.offset)


def outcomes_agree(cold, warm) -> None:
    assert cold[0] == warm[0]
    if cold[0] == "ok":
        assert_same_features(warm[1], cold[1])
    else:
        assert warm[1] == cold[1]


def test_learned_entry_headers_read_new_values():
    from tfodkit.example import decode as example

    first = detection_like(3)
    decode_example(encode_example(first))  # learns the headers of these entries
    assert example._ENTRY_PLANS
    second = detection_like(3, name=b"00000002.jpg")
    second["image/object/bbox/xmin"] = np.array([0.25, -1.5, 7.0], np.float32)
    second["image/object/class/label"] = np.array([300, 1, 2])  # a two-byte varint: same header, other values
    second["image/object/class/text"] = [b"a", b"bb", b"class_9"]
    second["image/height"] = [16383]
    assert_same_features(decode_example(encode_example(second)), second)


@settings(max_examples=300, deadline=None)
@given(boxes=st.integers(0, 12), mutation=st.data())
def test_learned_entry_headers_decode_damaged_records_like_a_cold_decoder(boxes, mutation):
    """A record whose entry headers were seen before must give what a decoder without plans gives: the same
    values, or the same error at the same offset (entry headers learned, then the values or lengths damaged)."""
    from tfodkit.example import decode as example

    data = bytearray(encode_example(detection_like(boxes)))
    for _ in range(mutation.draw(st.integers(0, 3))):
        data[mutation.draw(st.integers(0, len(data) - 1))] = mutation.draw(st.integers(0, 255))
    cut = mutation.draw(st.integers(1, len(data)))
    damaged = bytes(data[:cut])
    example._ENTRY_PLANS.clear()
    cold = decode_outcome(damaged)
    decode_example(encode_example(detection_like(boxes)))  # learn the intact headers
    outcomes_agree(cold, decode_outcome(damaged))
    outcomes_agree(cold, decode_outcome(damaged))  # and the ones learned from the damaged record itself


def test_entry_plans_are_bounded():
    from tfodkit.example import decode as example

    example._ENTRY_PLANS.clear()
    try:
        for index in range(example._MAX_ENTRY_PLANS + 50):
            key = f"k{index}"
            assert decode_example(encode_example({key: [index]}))[key].tolist() == [index]
        assert len(example._ENTRY_PLANS) == example._MAX_ENTRY_PLANS
    finally:
        example._ENTRY_PLANS.clear()  # a full table would keep later tests off the planned path
