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
_BYTES_ONE, _BYTES_MANY, _FLOATS, _INTS, _INT_ONE, _INT_TWO, _FLOATS_SWAPPED = 0, 1, 2, 3, 4, 5, 6
_ENTRY_PLANS: dict[bytes, tuple[str, int, int, int]] = {}
_MAX_ENTRY_PLANS = 4096  # keys x list sizes of a dataset; beyond that, entries are parsed without a plan


def _header_varint(header: bytes, at: int) -> tuple[int, int]:
    """(value, position after it) of a 1- or 2-byte varint in an entry header; (-1, at) for a longer one."""
    byte = header[at]
    if byte < 0x80:
        return byte, at + 1
    if header[at + 1] < 0x80:
        return byte & 0x7F | header[at + 1] << 7, at + 2
    return -1, at


def _entry_plan(buf: bytes, pos: int, end: int, header: bytes) -> tuple[str, int, int, int] | None:
    """(key, value kind, value offset, entry size) of the canonical entry at ``pos`` with ``header``, or None.

    ``header`` is the ``K + 10`` bytes ``0a <E> 0a <K> <key> 12 <F> <kind tag> <L> 0a <P>`` of a short entry
    (every length below 128: one byte each) or the ``K + 14`` bytes of a long one (entry, feature, list and
    payload lengths of two bytes each: 128 to 16383, e.g. the box lists of 32 to 4095 objects). Those bytes
    alone fix where the key, the kind and the value are. Records of a dataset repeat a few such headers (one
    per key and list size), so the plan worked out here is kept, keyed by the header bytes, and later entries
    are read with one dict lookup instead of a dozen checks. Only the value bytes are read per record.
    Long plans are made for number lists only: a long bytes value (a small image, a mask) has a new length
    in nearly every record, and its plans would fill the table.
    """
    size = len(header)
    if pos + size > end:
        return None
    try:
        if header[0] != 0x0A:
            return None
        entry_size, at = _header_varint(header, 1)
        if entry_size < 0 or header[at] != 0x0A or header[at + 1] >= 0x80:
            return None
        content_at = at
        key_at = at + 2
        at = key_at + header[at + 1]
        if header[at] != 0x12:
            return None
        feature_size, at = _header_varint(header, at + 1)
        kind = header[at]
        list_size, list_at = _header_varint(header, at + 1)
        if (
            feature_size < 0
            or list_size < 0
            or at + feature_size != content_at + entry_size  # the feature fills the entry
            or list_at + list_size != at + feature_size  # the list fills the feature
            or kind not in (0x0A, 0x12, 0x1A)
        ):
            return None
        long = content_at == 3
        if list_size >= 2 and header[list_at] == 0x0A:  # 0a <P> <payload>: packed numbers / one bytes value
            payload_size, value_at = _header_varint(header, list_at + 1)
            one_field = payload_size >= 0 and value_at + payload_size == list_at + list_size
        else:
            payload_size, value_at, one_field = -1, list_at, False
    except IndexError:  # a header cut short by the end of the data
        return None
    if kind == 0x0A:
        if long:
            return None
        plan_kind = _BYTES_ONE if one_field else _BYTES_MANY
        if plan_kind == _BYTES_MANY:
            if list_size < 2:
                return None
            value_at = list_at
            header_size = list_at + 2  # the first value's tag and length are part of the header
        else:
            header_size = value_at
    elif not one_field:
        return None  # unpacked, split or empty number lists: the general parser
    elif kind == 0x12:
        if payload_size & 3:
            return None
        plan_kind, header_size = (_FLOATS if _NATIVE_LITTLE_ENDIAN else _FLOATS_SWAPPED), value_at
    elif payload_size == 0:
        return None  # an empty packed run (rare): the general parser
    else:
        plan_kind = _INT_ONE if payload_size == 1 else _INT_TWO if payload_size == 2 else _INTS
        header_size = value_at
    if header_size != size:  # lengths of mixed sizes: this header would not describe the entry alone
        return None
    key = _key(buf, pos + key_at, pos + key_at + header[key_at - 1])
    plan = (key, plan_kind, value_at, content_at + entry_size)
    if len(_ENTRY_PLANS) < _MAX_ENTRY_PLANS:
        _ENTRY_PLANS[header] = plan
    return plan


def _decode_features(buf: bytes, pos: int, end: int, out: dict[str, FeatureValue]) -> None:
    """Parse the map entries of a Features message into ``out`` (a repeated key: the last one wins)."""
    get_plan = _ENTRY_PLANS.get
    while pos < end:
        # Canonical entries below 16 KiB (every key but the image): one lookup of their header bytes.
        try:
            if buf[pos + 1] < 0x80:
                header = buf[pos : pos + 10 + buf[pos + 3]]
            elif buf[pos + 2] < 0x80:
                header = buf[pos : pos + 14 + buf[pos + 4]]
            else:  # 16 KiB or more: the image, whose lengths change with every record (a plan would not repeat)
                pos = _decode_image_entry(buf, pos, end, out)
                continue
        except IndexError:
            pos = _decode_entry_at(buf, pos, end, out)
            continue
        plan = get_plan(header)
        if plan is None:
            # A long bytes list (masks: its kind tag 6 bytes before the header's end) never gets a plan: skip the try.
            long_bytes = len(header) > 13 and buf[pos + 1] >= 0x80 and header[-6] == 0x0A
            plan = None if long_bytes else _entry_plan(buf, pos, end, header)
            if plan is None:
                pos = _decode_entry_at(buf, pos, end, out)
                continue
        key, plan_kind, value_at, entry_size = plan
        entry_end = pos + entry_size
        if entry_end > end:  # the entry runs past its message: the general parser names the damage
            pos = _decode_entry_at(buf, pos, end, out)
            continue
        start = pos + value_at
        if plan_kind == 0:  # _BYTES_ONE
            out[key] = [buf[start:entry_end]]
        elif plan_kind == 2:  # _FLOATS: a bytearray copy, so the array is writable and does not pin the record
            out[key] = _frombuffer(bytearray(buf[start:entry_end]), _FLOAT32_LE)
        elif plan_kind == 4:  # _INT_ONE: one byte, a value below 128 (labels, flags)
            value = buf[start]
            out[key] = _ONE_BYTE_INTS[value].copy() if value < 0x80 else _unpack_varints(buf, start, entry_end)
        elif plan_kind == 5:  # _INT_TWO: two values below 128, or one below 16384 (image sizes)
            first, second = buf[start], buf[start + 1]
            if second >= 0x80:
                out[key] = _unpack_varints(buf, start, entry_end)  # raises: a truncated varint
            elif first < 0x80:
                out[key] = _array((first, second), _INT64)
            else:
                out[key] = _array((first & 0x7F | second << 7,), _INT64)
        elif plan_kind == 1:  # _BYTES_MANY
            out[key] = _decode_bytes_list(buf, start, entry_end)
        elif plan_kind == 3:  # _INTS
            payload = buf[start:entry_end]
            if payload.isascii():  # every byte below 0x80: one byte per value
                out[key] = _fromiter(payload, _INT64, entry_end - start)
            else:
                out[key] = _unpack_varints(buf, start, entry_end)
        else:  # _FLOATS_SWAPPED
            out[key] = _floats(buf, start, entry_end)
        pos = entry_end


_frombuffer, _fromiter, _array = np.frombuffer, np.fromiter, np.array
# Copying a ready one-value array takes about half the time of making one (labels, flags, small sizes).
_ONE_BYTE_INTS = [np.array((value,), _INT64) for value in range(128)]


def _decode_image_entry(buf: bytes, pos: int, end: int, out: dict[str, FeatureValue]) -> int:
    """Parse the entry at ``pos`` whose length takes three bytes (16 KiB to 2 MiB: an image); the position after it.

    The canonical layout ``0a <E> 0a <K> <key> 12 <F> 0a <L> 0a <P> <payload>`` with E, F, L and P three bytes
    each is read with a few byte checks and no call; anything else goes to :func:`_decode_entry_at`.
    """
    try:
        if buf[pos] == 0x0A and buf[pos + 3] < 0x80 and buf[pos + 4] == 0x0A and buf[pos + 5] < 0x80:
            entry_end = pos + 4 + (buf[pos + 1] & 0x7F | (buf[pos + 2] & 0x7F) << 7 | buf[pos + 3] << 14)
            at = pos + 6 + buf[pos + 5]  # the feature's tag
            if (
                entry_end <= end
                and at + 12 <= entry_end
                and buf[at] == 0x12
                and buf[at + 1] >= 0x80
                and buf[at + 2] >= 0x80
                and buf[at + 3] < 0x80
                and buf[at + 4] == 0x0A  # a bytes list
                and at + 4 + (buf[at + 1] & 0x7F | (buf[at + 2] & 0x7F) << 7 | buf[at + 3] << 14) == entry_end
                and buf[at + 5] >= 0x80
                and buf[at + 6] >= 0x80
                and buf[at + 7] < 0x80
                and at + 8 + (buf[at + 5] & 0x7F | (buf[at + 6] & 0x7F) << 7 | buf[at + 7] << 14) == entry_end
                and buf[at + 8] == 0x0A  # its one value
                and buf[at + 9] >= 0x80
                and buf[at + 10] >= 0x80
                and buf[at + 11] < 0x80
                and at + 12 + (buf[at + 9] & 0x7F | (buf[at + 10] & 0x7F) << 7 | buf[at + 11] << 14) == entry_end
            ):
                out[_key(buf, pos + 6, at)] = [buf[at + 12 : entry_end]]
                return entry_end
    except IndexError:  # cut short: the general parser names the damage
        pass
    return _decode_entry_at(buf, pos, end, out)


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
        elif end > 4 and buf[2] >= 0x80 and buf[3] < 0x80:  # 16 KiB to 2 MiB: a record with an image
            stop, start = 4 + (length & 0x7F | (buf[2] & 0x7F) << 7 | buf[3] << 14), 4
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
