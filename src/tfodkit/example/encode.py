"""Encoding ``tf.train.Example``: ``{key: values}`` to the bytes protobuf's deterministic serializer writes."""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfodkit.errors import FormatError

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_FLOAT32_LE = np.dtype("<f4")


class FeatureType(enum.IntEnum):
    """The kind of a ``tf.train.Feature``; the value is its field number in ``Feature``."""

    BYTES = 1
    FLOAT = 2
    INT64 = 3


# ------------------------------------------------------------------------------------------------- encoding
_ONE_BYTE_VARINTS = [bytes((value,)) for value in range(128)]


def _varint(value: int) -> bytes:
    """The varint bytes of a non-negative integer below 2**64."""
    if value < 0x80:
        return _ONE_BYTE_VARINTS[value]
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _packed_varints(values: np.ndarray) -> bytes:
    """Packed varint bytes of an int64 array (negative values as their two's complement, 10 bytes)."""
    if values.size == 0:
        return b""
    if values.min() >= 0 and values.max() < 0x80:
        return values.astype(np.uint8).tobytes()
    unsigned = values.astype(np.int64).view(np.uint64)
    if unsigned.size <= 8:  # a loop beats numpy's per-call overhead on a handful of values
        return b"".join([_varint(value) for value in unsigned.tolist()])
    # Vectorized: byte j of value i is its 7-bit group j, with the continuation bit on all but its last byte.
    byte_counts = np.ones(unsigned.shape, np.int64)
    for group in range(1, 10):
        byte_counts += unsigned >= np.uint64(1 << (7 * group))
    starts = np.zeros(unsigned.shape, np.int64)
    np.cumsum(byte_counts[:-1], out=starts[1:])
    out = np.empty(int(starts[-1] + byte_counts[-1]), np.uint8)
    for group in range(10):
        present = byte_counts > group
        if not present.any():
            break
        chunk = ((unsigned[present] >> np.uint64(7 * group)) & np.uint64(0x7F)).astype(np.uint8)
        chunk |= np.where(byte_counts[present] > group + 1, 0x80, 0).astype(np.uint8)
        out[starts[present] + group] = chunk
    return out.tobytes()


def _scalar_kind(value: Any) -> FeatureType | None:
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return FeatureType.BYTES
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return FeatureType.INT64
    if isinstance(value, (float, np.floating)):
        return FeatureType.FLOAT
    return None


def feature_type(value: Any) -> FeatureType:
    """The feature kind ``value`` is encoded as (and, for decoded values, the kind it was read from).

    Example:
        >>> feature_type([0.5]), feature_type(np.zeros(0, np.int64)), feature_type([]), feature_type("a")
        (<FeatureType.FLOAT: 2>, <FeatureType.INT64: 3>, <FeatureType.BYTES: 1>, <FeatureType.BYTES: 1>)
    """
    return _classify("value", value)[0]


def _classify(key: str, value: Any) -> tuple[FeatureType, Any]:
    """(kind, values) of a feature value; values is a list of bytes-likes or a numpy array."""
    if isinstance(value, np.ndarray):
        return _classify_array(key, value)
    single = _scalar_kind(value)
    if single is FeatureType.BYTES:
        return single, [value]
    if single is not None:
        return _classify_array(key, np.asarray([value]))
    try:
        values = list(value)
    except TypeError:
        raise FormatError(f"feature {key!r}: cannot encode a {type(value).__name__}") from None
    return _classify_objects(key, values)


def _classify_objects(key: str, values: list) -> tuple[FeatureType, Any]:
    if not values:
        return FeatureType.BYTES, values
    if _scalar_kind(values[0]) is FeatureType.BYTES:
        for element in values:
            if _scalar_kind(element) is not FeatureType.BYTES:
                raise FormatError(f"feature {key!r}: a bytes list holds a {type(element).__name__}")
        return FeatureType.BYTES, values
    for element in values:
        if _scalar_kind(element) not in (FeatureType.INT64, FeatureType.FLOAT):
            raise FormatError(f"feature {key!r}: a number list holds a {type(element).__name__}")
    array = np.asarray(values)
    if array.dtype.kind == "O":  # Python ints beyond 64 bits
        raise FormatError(f"feature {key!r}: an integer does not fit in int64")
    return _classify_array(key, array)


def _classify_array(key: str, array: np.ndarray) -> tuple[FeatureType, Any]:
    kind = array.dtype.kind
    if kind == "f":
        return FeatureType.FLOAT, array
    if kind in "iub":
        if kind == "u" and array.size and array.max() > _INT64_MAX:
            raise FormatError(f"feature {key!r}: an integer does not fit in int64")
        return FeatureType.INT64, array
    if kind in "SU":  # note: numpy drops trailing NUL bytes of "S" elements; use an object array to keep them
        return FeatureType.BYTES, array.ravel().tolist()
    if kind == "O":
        return _classify_objects(key, array.ravel().tolist())
    raise FormatError(f"feature {key!r}: cannot encode a numpy array of dtype {array.dtype}")


def _bytes_list_feature(key: str, values: list) -> tuple[bytes, bytes]:
    pieces: list[bytes] = []
    for element in values:
        kind = type(element)
        if kind is str:
            try:
                element = element.encode("utf-8")
            except UnicodeEncodeError as error:
                raise FormatError(f"feature {key!r}: a string is not valid Unicode ({error.reason})") from None
        elif kind is not bytes:
            if _scalar_kind(element) is not FeatureType.BYTES:
                raise FormatError(f"feature {key!r}: a bytes list holds a {kind.__name__}")
            element = element.encode("utf-8") if isinstance(element, str) else bytes(element)
        pieces.append(b"\x0a" + _varint(len(element)))
        pieces.append(element)
    if len(pieces) == 2:  # one value (the usual case): no copy of it here, it is joined once at the end
        head, payload = pieces
        return b"\x0a" + _varint(len(head) + len(payload)) + head, payload
    payload = b"".join(pieces)
    return b"\x0a" + _varint(len(payload)), payload


def _number_list_feature(tag: bytes, packed: bytes) -> tuple[bytes, bytes]:
    if not packed:
        return tag + b"\x00", b""
    field = b"\x0a" + _varint(len(packed))
    return tag + _varint(len(field) + len(packed)) + field, packed


def _float_array_feature(values: np.ndarray) -> tuple[bytes, bytes]:
    if values.dtype == _FLOAT32_LE:
        packed = values.tobytes()
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32's range: ±inf, as a C cast gives
            packed = values.astype(_FLOAT32_LE).tobytes()
    return _number_list_feature(b"\x12", packed)


def _int_list_packed(values: list) -> bytes | None:
    """Packed varints of a list of Python ints/bools in int64's range, or None when it holds anything else."""
    if len(values) == 1:  # the usual single value (image/height, image/width)
        value = values[0]
        if type(value) is not int and type(value) is not bool:
            return None
        if 0 <= value <= _INT64_MAX:
            return _ONE_BYTE_VARINTS[value] if value < 0x80 else _varint(value)
        return _varint(value + (1 << 64)) if _INT64_MIN <= value < 0 else None
    try:
        packed = bytes(values)  # all ints (or bools) in 0..255
        if not packed or max(packed) < 0x80:  # every value is its own one-byte varint
            return packed
    except (TypeError, ValueError):
        pass
    pieces = []
    for value in values:
        if type(value) is not int and type(value) is not bool:
            return None
        if value < 0:
            if value < _INT64_MIN:
                return None
            value += 1 << 64
        elif value > _INT64_MAX:
            return None
        pieces.append(_ONE_BYTE_VARINTS[value] if value < 0x80 else _varint(value))
    return b"".join(pieces)


def _encode_feature(key: str, value: Any) -> tuple[bytes, bytes]:
    """(head, payload) of one serialized ``Feature`` message: the large payload is copied only once, later."""
    kind = type(value)
    if kind is np.ndarray:
        dtype_kind = value.dtype.kind
        if dtype_kind == "f":
            return _float_array_feature(value)
        if dtype_kind in "iub":
            if value.size <= 64:  # small (the usual case): Python ints beat numpy's per-call overhead
                packed = _int_list_packed(value.tolist() if value.ndim == 1 else value.ravel().tolist())
                if packed is not None:
                    return _number_list_feature(b"\x1a", packed)
            elif dtype_kind != "u" or value.max() <= _INT64_MAX:
                return _number_list_feature(b"\x1a", _packed_varints(value.ravel().astype(np.int64)))
    elif kind is list or kind is tuple:
        if not value:
            return b"\x0a\x00", b""
        first = type(value[0])
        if first is bytes and len(value) == 1:  # the usual single value, e.g. image/encoded
            element = value[0]
            length = len(element)
            head = b"\x0a" + (_ONE_BYTE_VARINTS[length] if length < 0x80 else _varint(length))
            length += len(head)
            return b"\x0a" + (_ONE_BYTE_VARINTS[length] if length < 0x80 else _varint(length)) + head, element
        if first is bytes or first is str:
            return _bytes_list_feature(key, value)
        if first is float:
            try:
                return _number_list_feature(b"\x12", struct.pack(f"<{len(value)}f", *value))
            except (struct.error, OverflowError, TypeError):
                pass  # not all numbers, or beyond float32's range: the general path tells or handles it
        elif first is int or first is bool:
            packed = _int_list_packed(value)
            if packed is not None:
                return _number_list_feature(b"\x1a", packed)
    elif kind is bytes or kind is str:
        return _bytes_list_feature(key, [value])
    # The general path: numpy scalars and arrays of other dtypes, mixed lists, iterables, errors.
    feature_kind, values = _classify(key, value)
    if feature_kind is FeatureType.BYTES:
        return _bytes_list_feature(key, values)
    if feature_kind is FeatureType.FLOAT:
        return _float_array_feature(np.asarray(values))
    return _number_list_feature(b"\x1a", _packed_varints(values.ravel().astype(np.int64)))


# key -> (its place in the map order, the map entry's bytes up to the Feature's length: 0a <len> <key> 12);
# keys repeat in every record of a dataset, so this is worked out once per key.
_ENTRY_PREFIXES: dict[str, tuple[str, bytes]] = {}


def _map_order(encoded: bytes) -> str:
    """The sort key of protobuf's deterministic map order (upb, the runtime of protobuf >= 4.21 and of TF):
    byte-wise ascending, except that a key sorts after the longer keys it is a prefix of ("ab" before "a").

    Hex digits keep the byte order; the final "g" sorts above every hex digit, so a prefix comes last.
    """
    return encoded.hex() + "g"


def _entry_prefix(key: Any) -> tuple[str, bytes]:
    known = _ENTRY_PREFIXES.get(key) if type(key) is str else None
    if known is not None:
        return known
    if not isinstance(key, str):
        raise FormatError(f"feature key {key!r} is not a str")
    try:
        encoded = key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as error:
        raise FormatError(f"feature key {key!r} is not valid Unicode ({error.reason})") from None
    known = (_map_order(encoded), b"\x0a" + _varint(len(encoded)) + encoded + b"\x12")
    if len(_ENTRY_PREFIXES) < 4096:
        _ENTRY_PREFIXES[key] = known
    return known


def _first(entry: tuple) -> Any:
    return entry[0]


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialize ``{key: values}`` as a ``tf.train.Example``, deterministically (map entries sorted by key).

    Equal byte for byte to ``tf.train.Example(...).SerializeToString(deterministic=True)``. An Example with
    no features still has its (empty) ``features`` field: ``encode_example({}) == b"\\n\\x00"``. Raises
    :class:`~tfodkit.errors.FormatError` naming the key for a value it cannot encode.

    Example:
        >>> encode_example({"b": [0.1, 0.2], "a": [1]}).hex()
        '0a1f0a0a0a016112051a030a01010a110a0162120c120a0a08cdcccc3dcdcc4c3e'
    """
    entries = []
    one_byte = _ONE_BYTE_VARINTS
    for key, value in features.items():
        order, prefix = _entry_prefix(key)
        head, payload = _encode_feature(key, value)
        length = len(head) + len(payload)
        if length < 0x80:
            head = prefix + one_byte[length] + head
        else:
            head = prefix + _varint(length) + head
        length = len(head) + len(payload)  # the entry: key field, feature tag and length, feature
        head = (one_byte[length] if length < 0x80 else _varint(length)) + head
        entries.append((order, b"\x0a" + head, payload))
    entries.sort(key=_first)
    pieces = []
    previous = None
    for order, head, payload in entries:
        if order == previous:
            raise FormatError(f"two feature keys encode to the same bytes {bytes.fromhex(order[:-1])!r}")
        previous = order
        pieces.append(head)
        pieces.append(payload)
    body_length = sum(map(len, pieces))
    return b"".join([b"\x0a", _varint(body_length), *pieces])
