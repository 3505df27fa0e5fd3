"""``tf.train.Example`` encode/decode without TensorFlow or the protobuf runtime.

The wire format (``tensorflow/core/example/{example,feature}.proto``)::

    Example   { Features features = 1; }
    Features  { map<string, Feature> feature = 1; }        // entry: { string key = 1; Feature value = 2; }
    Feature   { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }
    Int64List { repeated int64 value = 1 [packed = true]; }

Python values map to feature kinds like this (:func:`feature_type` tells which one a value gets):

* ``bytes``/``str`` (a single one or a list of them) -> ``bytes_list`` (``str`` encoded as UTF-8);
* ``float`` -> ``float_list`` (packed float32); ``int``/``bool`` -> ``int64_list`` (packed varints,
  negative numbers as 10-byte varints);
* numpy arrays by dtype: floating -> float, integer/bool -> int64, ``bytes_``/``str_``/object -> bytes;
* a plain empty list ``[]`` has no element to tell its kind and becomes an empty ``bytes_list``; pass a typed
  empty array (``np.zeros(0, np.float32)``, ``np.zeros(0, np.int64)``) for an empty float or int64 list.

:func:`decode_example` gives ``bytes_list -> list[bytes]``, ``float_list -> np.float32 array`` and
``int64_list -> np.int64 array`` (empty lists too, so the kind of an empty list survives a round trip), and
``decode_example(encode_example(x))`` re-encodes to the same bytes. A ``Feature`` with no kind set decodes to
``[]`` (an empty bytes list), as nothing else can be told about it.

The encoder is deterministic: map entries in protobuf's deterministic order (UTF-8 bytes ascending, a key
after the longer keys it is a prefix of — what upb, the runtime of protobuf >= 4.21 and of TensorFlow, emits),
packed lists: the same bytes as ``SerializeToString(deterministic=True)``. The decoder follows the protobuf wire
rules: packed and unpacked repeated numbers, unknown fields of any wire type skipped (groups included), a
repeated map key keeps its last value, repeated submessages merge, the last kind of a ``oneof`` wins. Malformed
data raises :class:`~tfodkit.errors.ExampleDecodeError` with the byte offset.

Why hand-written: measured by ``bench/bench_codec.py`` on detection records (90 KB image, ~5 boxes, 15 keys),
it decodes into numpy arrays and lists faster than the protobuf (upb) runtime plus the conversions, and
encodes about as fast, and it keeps protobuf out of the dependencies. Its speed comes from the layout every
writer emits: a short map entry (all lengths below 128: every detection key but the image) is recognized by
its header bytes in a bounded table of headers seen before, so its key, kind and value position take one dict
lookup instead of a dozen byte checks (``_entry_plan``: ~15 us instead of ~27 us per detection record; most
of the rest is making the arrays and copying the image).
"""

from __future__ import annotations

import enum
import struct
import sys
from collections.abc import Mapping
from typing import Any, Union

import numpy as np

from tfodkit.errors import ExampleDecodeError, FormatError

FeatureValue = Union[list, np.ndarray]  # list[bytes] for bytes_list, float32 / int64 arrays for the others

_UINT64_MASK = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_MAX_GROUP_DEPTH = 100  # protobuf's default recursion limit
_FLOAT32_LE = np.dtype("<f4")
_INT64 = np.dtype(np.int64)
_NATIVE_LITTLE_ENDIAN = sys.byteorder == "little"


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


# ------------------------------------------------------------------------------------------------- decoding
def _error(message: str, offset: int) -> ExampleDecodeError:
    return ExampleDecodeError(message, offset=offset)


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it) of the varint at ``pos``; at most 10 bytes, truncated to 64 bits."""
    if pos >= end:
        raise _error("truncated varint", pos)
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    start = pos
    result = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        if pos >= end:
            raise _error("truncated varint", start)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _UINT64_MASK, pos
        shift += 7
        if shift >= 70:
            raise _error("varint longer than 10 bytes", start)


def _read_length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(end of the length-delimited payload, its start) for the length varint at ``pos``."""
    byte = buf[pos] if pos < end else 0x80
    if byte < 0x80:  # the usual case: a length below 128
        stop = pos + 1 + byte
        start = pos + 1
    elif pos + 2 < end and buf[pos + 1] < 0x80:  # below 16 KiB
        start = pos + 2
        stop = start + (byte & 0x7F | buf[pos + 1] << 7)
    elif pos + 3 < end and buf[pos + 2] < 0x80:  # below 2 MiB: an image
        start = pos + 3
        stop = start + (byte & 0x7F | (buf[pos + 1] & 0x7F) << 7 | buf[pos + 2] << 14)
    else:
        length, start = _read_varint(buf, pos, end)
        stop = start + length
    if stop > end:
        raise _error(f"length-delimited field runs past its end ({stop - start} bytes, {end - start} left)", pos)
    return stop, start


def _skip_field(buf: bytes, tag: int, pos: int, end: int, tag_offset: int) -> int:
    """The position after the value of an unknown field with ``tag`` whose value starts at ``pos``."""
    wire_type = tag & 7
    if tag >> 3 == 0:
        raise _error("field number 0", tag_offset)
    if wire_type == 0:
        return _read_varint(buf, pos, end)[1]
    if wire_type == 1:
        if pos + 8 > end:
            raise _error("truncated 64-bit field", tag_offset)
        return pos + 8
    if wire_type == 2:
        return _read_length(buf, pos, end)[0]
    if wire_type == 5:
        if pos + 4 > end:
            raise _error("truncated 32-bit field", tag_offset)
        return pos + 4
    if wire_type == 3:  # a group: skip nested fields up to the END_GROUP with the same field number
        open_groups = [tag >> 3]
        while open_groups:
            if len(open_groups) > _MAX_GROUP_DEPTH:
                raise _error("groups nested too deeply", tag_offset)
            if pos >= end:
                raise _error("unterminated group", tag_offset)
            inner_offset = pos
            inner, pos = _read_varint(buf, pos, end)
            inner_type = inner & 7
            if inner_type == 4:
                if inner >> 3 != open_groups.pop():
                    raise _error("END_GROUP does not match its START_GROUP", inner_offset)
            elif inner_type == 3:
                if inner >> 3 == 0:
                    raise _error("field number 0", inner_offset)
                open_groups.append(inner >> 3)
            else:
                pos = _skip_field(buf, inner, pos, end, inner_offset)
        return pos
    if wire_type == 4:
        raise _error("END_GROUP without a START_GROUP", tag_offset)
    raise _error(f"invalid wire type {wire_type}", tag_offset)


def _read_tag(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    tag, after = _read_varint(buf, pos, end)
    if tag > 0xFFFFFFFF:
        raise _error("tag larger than 32 bits", pos)
    return tag, after


def _int64_array(values: list[int]) -> np.ndarray:
    """int64 array of unsigned 64-bit varint values (those >= 2**63 are negative numbers)."""
    try:
        return np.array(values, dtype=_INT64)
    except OverflowError:
        return np.array(values, dtype=np.uint64).view(np.int64)


def _floats(buf: bytes, start: int, stop: int) -> np.ndarray:
    """A writable float32 array of the packed little-endian floats in ``buf[start:stop]``."""
    # bytearray: a small private copy, so the array is writable and does not pin the whole record in memory.
    values = np.frombuffer(bytearray(buf[start:stop]), _FLOAT32_LE)
    return values if _NATIVE_LITTLE_ENDIAN else values.astype(np.float32)


def _unpack_varints(buf: bytes, start: int, stop: int) -> np.ndarray:
    """The int64 values of a packed varint payload."""
    size = stop - start
    if size <= 16:  # a handful of values (the usual case): a loop beats numpy's per-call overhead
        values = []
        pos = start
        while pos < stop:
            byte = buf[pos]
            if byte < 0x80:
                values.append(byte)
                pos += 1
            elif pos + 1 < stop and buf[pos + 1] < 0x80:  # two bytes: values below 16384 (image sizes)
                values.append((byte & 0x7F) | buf[pos + 1] << 7)
                pos += 2
            else:
                value, pos = _read_varint(buf, pos, stop)
                values.append(value)
        return _int64_array(values)
    payload = np.frombuffer(buf, np.uint8, count=size, offset=start)
    if payload.max() < 0x80:  # every value below 128: one byte each
        return payload.astype(np.int64)
    if payload[-1] >= 0x80:
        raise _error("truncated varint in a packed int64 list", stop - 1)
    # Vectorized: the bytes of one varint run up to and including a byte < 0x80.
    ends = np.flatnonzero(payload < 0x80)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise _error("varint longer than 10 bytes", start + int(starts[np.argmax(lengths > 10)]))
    shifts = (np.arange(size) - np.repeat(starts, lengths)) * 7
    groups = (payload & 0x7F).astype(np.uint64) << shifts.astype(np.uint64)
    return np.bitwise_or.reduceat(groups, starts).view(np.int64)


def _decode_bytes_list(buf: bytes, pos: int, end: int) -> list[bytes]:
    values = []
    while pos < end:
        if buf[pos] == 0x0A:
            if pos + 1 < end and buf[pos + 1] < 0x80:  # a value below 128 bytes (names, label texts)
                start = pos + 2
                stop = start + buf[pos + 1]
                if stop > end:
                    _read_length(buf, pos + 1, end)  # raises
            else:
                stop, start = _read_length(buf, pos + 1, end)
            values.append(buf[start:stop])
            pos = stop
        else:
            tag_offset = pos
            tag, pos = _read_tag(buf, pos, end)
            pos = _skip_field(buf, tag, pos, end, tag_offset)
    return values


def _decode_number_list(buf: bytes, pos: int, end: int, kind: int) -> np.ndarray:
    """A FloatList (kind 2) or Int64List (kind 3): packed runs and/or unpacked values, in wire order."""
    parts: list[np.ndarray] = []
    loose: list = []
    unpacked_tag = 0x0D if kind == 2 else 0x08
    while pos < end:
        tag_offset = pos
        tag, pos = _read_tag(buf, pos, end)
        if tag == 0x0A:
            stop, start = _read_length(buf, pos, end)
            if loose:
                parts.append(_loose_array(loose, kind))
                loose = []
            if kind == 2:
                if (stop - start) % 4:
                    raise _error(f"packed float list of {stop - start} bytes, not a multiple of 4", tag_offset)
                parts.append(_floats(buf, start, stop))
            else:
                parts.append(_unpack_varints(buf, start, stop))
            pos = stop
        elif tag == unpacked_tag:
            if kind == 2:
                if pos + 4 > end:
                    raise _error("truncated float", tag_offset)
                loose.append(buf[pos : pos + 4])
                pos += 4
            else:
                value, pos = _read_varint(buf, pos, end)
                loose.append(value)
        else:
            pos = _skip_field(buf, tag, pos, end, tag_offset)
    if loose:
        parts.append(_loose_array(loose, kind))
    if not parts:
        return np.zeros(0, np.float32 if kind == 2 else np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _loose_array(values: list, kind: int) -> np.ndarray:
    if kind == 2:  # 4-byte little-endian slices
        return _floats(b"".join(values), 0, 4 * len(values))
    return _int64_array(values)


def _decode_feature(buf: bytes, pos: int, end: int, previous: tuple) -> tuple:
    """(kind, values) of a Feature message merged into ``previous``, as protobuf merges a repeated field."""
    kind, values = previous
    while pos < end:
        tag_offset = pos
        tag, pos = _read_tag(buf, pos, end)
        if tag in (0x0A, 0x12, 0x1A):
            stop, start = _read_length(buf, pos, end)
            new_kind = tag >> 3
            if new_kind == 1:
                new_values: Any = _decode_bytes_list(buf, start, stop)
            else:
                new_values = _decode_number_list(buf, start, stop, new_kind)
            if new_kind == kind:  # the same oneof member again: protobuf merges the two messages
                values = values + new_values if kind == 1 else np.concatenate([values, new_values])
            else:  # another member replaces the one set before
                kind, values = new_kind, new_values
            pos = stop
        else:
            pos = _skip_field(buf, tag, pos, end, tag_offset)
    return kind, values


def _decode_entry(buf: bytes, pos: int, end: int) -> tuple[str, FeatureValue]:
    """The general (slow) parser of one map entry ``{key = 1; value = 2}`` in ``buf[pos:end]``."""
    key = ""
    feature: tuple = (0, None)
    while pos < end:
        field_offset = pos
        field, pos = _read_tag(buf, pos, end)
        if field == 0x0A:
            stop, start = _read_length(buf, pos, end)
            key = _key(buf, start, stop)
            pos = stop
        elif field == 0x12:
            stop, start = _read_length(buf, pos, end)
            feature = _decode_feature(buf, start, stop, feature)
            pos = stop
        else:
            pos = _skip_field(buf, field, pos, end, field_offset)
    return key, ([] if feature[0] == 0 else feature[1])


def _key(buf: bytes, start: int, stop: int) -> str:
    raw = buf[start:stop]
    key = _KEY_CACHE.get(raw)
    if key is None:
        key = raw.decode("utf-8", "surrogateescape")
        if len(_KEY_CACHE) < 4096:  # keys repeat in every record of a dataset
            _KEY_CACHE[raw] = key
    return key


_KEY_CACHE: dict[bytes, str] = {}


# How a map entry in the canonical layout is read, keyed by its header bytes (see _entry_plan).
_BYTES_ONE, _BYTES_MANY, _FLOATS, _INTS = 0, 1, 2, 3
_ENTRY_PLANS: dict[bytes, tuple[str, int, int, int]] = {}
_MAX_ENTRY_PLANS = 4096  # keys x list sizes of a dataset; beyond that, entries are parsed without a plan


def _entry_plan(buf: bytes, pos: int, end: int) -> tuple[str, int, int, int] | None:
    """(key, value kind, value offset, entry size) of the short canonical entry at ``pos``, or None.

    A short entry has every length below 128, so its header is the ``K + 10`` bytes
    ``0a <entry len> 0a <K> <key> 12 <feature len> <kind tag> <list len> 0a <payload len>``: those bytes alone
    fix where the key, the kind and the value are. Records of a dataset repeat a few such headers (one per key
    and list size), so the plan worked out here is kept, keyed by the header bytes, and later entries are read
    with one dict lookup instead of a dozen checks. Only the value bytes are read per record.
    """
    if pos + 3 >= end or buf[pos + 1] >= 0x80:
        return None
    key_size = buf[pos + 3]
    header = buf[pos : pos + key_size + 10]
    if len(header) != key_size + 10 or pos + key_size + 10 > end:
        return None
    entry_size, feature_size = header[1], header[key_size + 5]
    kind, list_size = header[key_size + 6], header[key_size + 7]
    if (
        header[0] != 0x0A
        or header[2] != 0x0A
        or key_size >= 0x80
        or header[key_size + 4] != 0x12
        or feature_size != entry_size - key_size - 4  # the feature fills the entry (below 128: one length byte)
        or list_size != feature_size - 2  # the list fills the feature
        or list_size < 2
        or kind not in (0x0A, 0x12, 0x1A)
    ):
        return None
    payload_size = header[key_size + 9]
    one_field = header[key_size + 8] == 0x0A and payload_size == list_size - 2  # 0a <len> <payload>: packed / one value
    if kind == 0x0A:
        plan_kind, value_at = (_BYTES_ONE, key_size + 10) if one_field else (_BYTES_MANY, key_size + 8)
    elif not one_field:
        return None  # unpacked or split number lists: the general parser
    elif kind == 0x12:
        if payload_size & 3:
            return None
        plan_kind, value_at = _FLOATS, key_size + 10
    elif payload_size == 0:
        return None  # an empty packed run (rare): the general parser
    else:
        plan_kind, value_at = _INTS, key_size + 10
    plan = (_key(buf, pos + 4, pos + 4 + key_size), plan_kind, value_at, entry_size + 2)
    if len(_ENTRY_PLANS) < _MAX_ENTRY_PLANS:
        _ENTRY_PLANS[header] = plan
    return plan


def _decode_features(buf: bytes, pos: int, end: int, out: dict[str, FeatureValue]) -> None:
    """Parse the map entries of a Features message into ``out`` (a repeated key: the last one wins)."""
    plans = _ENTRY_PLANS
    frombuffer = np.frombuffer
    fromiter = np.fromiter
    array = np.array
    float32 = _FLOAT32_LE
    int64 = _INT64
    while pos < end:
        # Short canonical entries (every key but the image): one lookup of their header bytes, see _entry_plan.
        plan = plans.get(buf[pos : pos + 10 + buf[pos + 3]]) if pos + 3 < end else None
        if plan is None:
            plan = _entry_plan(buf, pos, end) if pos + 3 < end and buf[pos + 1] < 0x80 else None  # long: no plan
            if plan is None:
                pos = _decode_entry_at(buf, pos, end, out)
                continue
        key, plan_kind, value_at, entry_size = plan
        entry_end = pos + entry_size
        if entry_end > end:  # the entry runs past its message: the general parser names the damage
            pos = _decode_entry_at(buf, pos, end, out)
            continue
        start = pos + value_at
        if plan_kind == _BYTES_ONE:
            out[key] = [buf[start:entry_end]]
        elif plan_kind == _FLOATS:
            # bytearray: a small private copy, so the array is writable and does not pin the record.
            value = frombuffer(bytearray(buf[start:entry_end]), float32)
            out[key] = value if _NATIVE_LITTLE_ENDIAN else value.astype(np.float32)
        elif plan_kind == _INTS:
            payload = buf[start:entry_end]
            if payload.isascii():  # every byte below 0x80: one byte per value (labels, flags)
                out[key] = fromiter(payload, int64, entry_end - start)
            elif entry_end - start == 2 and payload[1] < 0x80:  # one value in 128..16383: image sizes
                out[key] = array((payload[0] & 0x7F | payload[1] << 7,), int64)
            else:
                out[key] = _unpack_varints(buf, start, entry_end)
        else:
            out[key] = _decode_bytes_list(buf, start, entry_end)
        pos = entry_end


def _decode_entry_at(buf: bytes, pos: int, end: int, out: dict[str, FeatureValue]) -> int:
    """Parse the field at ``pos`` of a Features message (a map entry into ``out``); the position after it."""
    entry_offset = pos
    # Fast path for long canonical entries (the image, long lists):
    #   0a <entry len> 0a <key len> <key> 12 <feature len> <kind tag> <list len> 0a <payload len> <payload>
    # anything else (or any doubt) falls through to the general parser below, which checks everything.
    if buf[pos] == 0x0A and pos + 1 < end:
        length = buf[pos + 1]
        if length < 0x80:
            entry_end = pos + 2 + length
            key_at = pos + 2
        else:
            entry_end, key_at = _read_length(buf, pos + 1, end)
        if key_at + 1 < entry_end <= end and buf[key_at] == 0x0A and buf[key_at + 1] < 0x80:
            key_end = key_at + 2 + buf[key_at + 1]
            if key_end + 1 < entry_end and buf[key_end] == 0x12:
                length = buf[key_end + 1]
                if length < 0x80:
                    feature_end = key_end + 2 + length
                    kind_at = key_end + 2
                else:
                    feature_end, kind_at = _read_length(buf, key_end + 1, entry_end)
                kind = buf[kind_at] if kind_at + 1 < entry_end else 0
                if feature_end == entry_end and (kind == 0x0A or kind == 0x12 or kind == 0x1A):
                    length = buf[kind_at + 1]
                    if length < 0x80:
                        list_end = kind_at + 2 + length
                        list_at = kind_at + 2
                    else:
                        list_end, list_at = _read_length(buf, kind_at + 1, entry_end)
                    if list_end == entry_end:
                        out[_key(buf, key_at + 2, key_end)] = _decode_list(buf, list_at, list_end, kind)
                        return entry_end  # a repeated key: the last value wins
    # The general parser: any field order, unknown fields, repeated fields, long keys.
    tag, pos = _read_tag(buf, pos, end)
    if tag != 0x0A:
        return _skip_field(buf, tag, pos, end, entry_offset)
    entry_end, pos = _read_length(buf, pos, end)
    key, value = _decode_entry(buf, pos, entry_end)
    out[key] = value
    return entry_end


def _decode_list(buf: bytes, list_at: int, list_end: int, kind: int) -> FeatureValue:
    """The values of a BytesList (kind tag 0x0A), FloatList (0x12) or Int64List (0x1A) in ``buf[list_at:list_end]``."""
    # The one field of the list: 0a <payload len> <payload> (packed numbers / one bytes value).
    payload_end = -1
    if list_at + 1 < list_end and buf[list_at] == 0x0A:
        length = buf[list_at + 1]
        if length < 0x80:
            payload_end = list_at + 2 + length
            payload_at = list_at + 2
        else:
            payload_end, payload_at = _read_length(buf, list_at + 1, list_end)
    if kind == 0x0A:
        if payload_end == list_end:
            return [buf[payload_at:payload_end]]
        return _decode_bytes_list(buf, list_at, list_end)
    if payload_end != list_end or (kind == 0x12 and (payload_end - payload_at) & 3):
        return _decode_number_list(buf, list_at, list_end, kind >> 3)  # also raises for a bad float list
    if kind == 0x12:
        return _floats(buf, payload_at, payload_end)
    return _unpack_varints(buf, payload_at, payload_end)


def decode_example(data: bytes | bytearray | memoryview) -> dict[str, FeatureValue]:
    """Parse a serialized ``tf.train.Example`` into ``{key: list[bytes] | float32 array | int64 array}``.

    Keys keep their order in the data. Raises :class:`ExampleDecodeError` (with the byte offset) on malformed
    data; never ``IndexError``/``struct.error``/``UnicodeDecodeError``. Keys that are not valid UTF-8 are
    decoded with ``surrogateescape`` (TensorFlow does not check them either) and encode back to the same bytes.
    Arrays are writable copies: they do not keep ``data`` alive.

    Example:
        >>> decode_example(encode_example({"image/height": [480], "label": ["car"], "x": [0.5]}))
        {'image/height': array([480]), 'label': [b'car'], 'x': array([0.5], dtype=float32)}
    """
    buf = data if type(data) is bytes else bytes(data)  # slices of bytes are bytes: hashable, immutable
    end = len(buf)
    out: dict[str, FeatureValue] = {}
    if end > 2 and buf[0] == 0x0A:  # the usual record: one Features field covering everything
        length = buf[1]
        if length < 0x80:
            stop, start = 2 + length, 2
        else:
            stop, start = _read_length(buf, 1, end)
        if stop == end:
            _decode_features(buf, start, stop, out)
            return out
    pos = 0
    while pos < end:
        tag_offset = pos
        tag, pos = _read_tag(buf, pos, end)
        if tag == 0x0A:  # Example.features; a second one merges into the first, as protobuf does
            stop, start = _read_length(buf, pos, end)
            _decode_features(buf, start, stop, out)
            pos = stop
        else:
            pos = _skip_field(buf, tag, pos, end, tag_offset)
    return out
