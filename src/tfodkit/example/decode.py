"""Decoding ``tf.train.Example``: every key, into lists of bytes and numpy arrays, following the wire rules."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tfodkit.errors import ExampleDecodeError

FeatureValue = list | np.ndarray  # list[bytes] for bytes_list, float32 / int64 arrays for the others

_UINT64_MASK = (1 << 64) - 1
_MAX_GROUP_DEPTH = 100  # protobuf's default recursion limit
_FLOAT32_LE = np.dtype("<f4")
_INT64 = np.dtype(np.int64)
_NATIVE_LITTLE_ENDIAN = sys.byteorder == "little"


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
        >>> from tfodkit.example import encode_example
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
