"""Decode a few keys of a ``tf.train.Example`` and skip the rest without copying it.

Statistics need the box, label and size keys of every record, not its image: :func:`decode_some` walks the
map entries of the canonical layout every writer emits (``Features`` map entries, packed lists) and
materializes only the keys asked for; ``head_keys`` give the first bytes of each value only (enough to tell
an image's format and whether one is embedded). Anything off the canonical layout — unpacked lists, repeated
``features`` fields, unknown fields, negative or long int64 lists, malformed bytes — is handed to
:func:`tfodkit.example.decode_example`, so results and errors are the reference decoder's.

Measured on 90 KB detection records (bench/bench_stats.py): several times faster than a full decode, which
copies the image bytes and decodes every key.

Example:
    >>> from tfodkit.example import encode_example
    >>> data = encode_example({"image/encoded": [b"\\xff\\xd8\\xff" + bytes(1000)], "image/width": [640], "x": [1.5]})
    >>> features = decode_some(data, {"image/width"}, head_keys={"image/encoded"})
    >>> features["image/width"], features["image/encoded"][0][:4], "x" in features
    (array([640]), b'\\xff\\xd8\\xff\\x00', False)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from tfodkit._lazy import LazyModule
from tfodkit.errors import FormatError

if TYPE_CHECKING:
    import numpy as np
else:  # numpy is imported on first use: `tfod info` on a record file needs none (tfodkit._lazy)

    def _numpy_loaded(numpy: Any) -> None:
        global _FLOAT32_LE
        _FLOAT32_LE = numpy.dtype("<f4")  # a dtype object: a string would be parsed on every call

    np = LazyModule("numpy", globals(), "np", on_load=_numpy_loaded)

HEAD_BYTES = 16
_FLOAT32_LE: Any = "<f4"  # numpy's dtype object once numpy is in (_numpy_loaded)


class _OffCanonical(Exception):
    """The bytes are not in the canonical layout: let the reference decoder handle them."""


FULL, HEAD, RAW_FLOAT, RAW_INT = 0, 1, 2, 3  # how a selected key is returned


class FeatureSelector:
    """A reusable decoder of a fixed set of keys (the key table is built once, not per record).

    ``head_keys``: bytes values cut to their first ``HEAD_BYTES`` bytes. ``raw_float_keys``: float lists as their
    packed little-endian float32 bytes (``np.frombuffer(value, "<f4")`` gives the numbers), which lets a caller
    join the lists of many records and convert them with one numpy call. ``raw_int_keys``: int64 lists as their
    packed varint bytes (:func:`varint_values` gives the numbers), for keys read only sometimes. A raw key whose
    list is of another kind comes back decoded as usual (an array or a list), so callers test for ``bytes``.

    Example:
        >>> from tfodkit.example import encode_example
        >>> FeatureSelector(["b"]).decode(encode_example({"a": [1], "b": [2.5]}))
        {'b': array([2.5], dtype=float32)}
        >>> FeatureSelector([], raw_float_keys=["b"]).decode(encode_example({"a": [1], "b": [2.5]}))
        {'b': b'\\x00\\x00 @'}
        >>> varint_values(FeatureSelector([], raw_int_keys=["a"]).decode(encode_example({"a": [300, -1]}))["a"])
        [300, -1]
    """

    def __init__(
        self,
        keys: Collection[str],
        *,
        head_keys: Collection[str] = (),
        raw_float_keys: Collection[str] = (),
        raw_int_keys: Collection[str] = (),
    ) -> None:
        self._wanted = {key.encode("utf-8"): (key, FULL) for key in keys}
        self._wanted.update({key.encode("utf-8"): (key, HEAD) for key in head_keys})
        self._wanted.update({key.encode("utf-8"): (key, RAW_FLOAT) for key in raw_float_keys})
        self._wanted.update({key.encode("utf-8"): (key, RAW_INT) for key in raw_int_keys})

    def decode(self, data: bytes) -> dict[str, Any]:
        """``{key: value}`` for the selected keys present in ``data`` (see :func:`decode_some`)."""
        try:
            return _walk(data, self._wanted)
        except (_OffCanonical, IndexError):
            from tfodkit.example.decode import decode_example  # the reference decoder (numpy): off the fast path

            features = decode_example(data)
            out: dict[str, Any] = {}
            for name, mode in self._wanted.values():
                if name in features:
                    value: Any = features[name]
                    if mode == HEAD and isinstance(value, list):
                        value = [item[:HEAD_BYTES] for item in value]
                    elif mode == RAW_FLOAT and isinstance(value, np.ndarray) and value.dtype.kind == "f":
                        value = value.astype(_FLOAT32_LE).tobytes()
                    elif mode == RAW_INT and isinstance(value, np.ndarray) and value.dtype.kind in "iu":
                        value = _encode_varints(value)
                    out[name] = value
            return out


def decode_some(data: bytes, keys: Collection[str], *, head_keys: Collection[str] = ()) -> dict[str, Any]:
    """``{key: value}`` for the ``keys`` (and ``head_keys``) present in the record, as
    :func:`~tfodkit.example.decode_example` gives them; values of ``head_keys`` are cut to their first
    ``HEAD_BYTES`` bytes. Float arrays are read-only (they do not keep ``data`` alive)."""
    return FeatureSelector(keys, head_keys=head_keys).decode(data)


def _length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(end, start) of the length-delimited value whose length varint is at ``pos``."""
    byte = buf[pos]
    if byte < 0x80:
        stop = pos + 1 + byte
        start = pos + 1
    else:
        value = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 63:
                raise _OffCanonical
        start = pos
        stop = pos + value
    if stop > end:
        raise _OffCanonical
    return stop, start


def _walk(buf: bytes, wanted: dict[bytes, tuple[str, int]]) -> dict[str, Any]:
    end = len(buf)
    out: dict[str, Any] = {}
    if end == 0:
        return out
    if buf[0] != 0x0A:
        raise _OffCanonical
    stop, pos = _length(buf, 1, end)
    if stop != end:  # a second Example field, or trailing bytes
        raise _OffCanonical
    while pos < stop:
        # Lengths below 128 (keys, lists of a few boxes) are read inline: this loop runs for every key of
        # every record.
        if buf[pos] != 0x0A:
            raise _OffCanonical
        length = buf[pos + 1]
        if length < 0x80:
            key_tag = pos + 2
            entry_end = key_tag + length
            if entry_end > stop:
                raise _OffCanonical
        else:
            entry_end, key_tag = _length(buf, pos + 1, stop)
        if buf[key_tag] != 0x0A:
            raise _OffCanonical
        length = buf[key_tag + 1]
        if length < 0x80:
            key_start = key_tag + 2
            key_end = key_start + length
            if key_end > entry_end:
                raise _OffCanonical
        else:
            key_end, key_start = _length(buf, key_tag + 1, entry_end)
        found = wanted.get(buf[key_start:key_end])
        if found is not None:
            if key_end == entry_end:  # an entry without a value: an empty feature
                value: Any = []
            else:
                if buf[key_end] != 0x12:
                    raise _OffCanonical
                length = buf[key_end + 1]
                if length < 0x80:
                    feature_start = key_end + 2
                    feature_end = feature_start + length
                else:
                    feature_end, feature_start = _length(buf, key_end + 1, entry_end)
                if feature_end != entry_end:
                    raise _OffCanonical
                value = _feature(buf, feature_start, feature_end, found[1])
            out[found[0]] = value  # a repeated key: the last value wins
        pos = entry_end
    return out


def _feature(buf: bytes, start: int, end: int, mode: int) -> Any:
    if start == end:
        return []
    kind = buf[start]
    length = buf[start + 1]
    if length < 0x80:
        list_start = start + 2
        list_end = list_start + length
    else:
        list_end, list_start = _length(buf, start + 1, end)
    if list_end != end:
        raise _OffCanonical
    if kind == 0x0A:  # bytes_list: values below 128 bytes (names, label texts) are read inline
        values = []
        pos = list_start
        while pos < list_end:
            if buf[pos] != 0x0A:
                raise _OffCanonical
            length = buf[pos + 1]
            if length < 0x80:
                value_start = pos + 2
                value_end = value_start + length
                if value_end > list_end:
                    raise _OffCanonical
            else:
                value_end, value_start = _length(buf, pos + 1, list_end)
            values.append(
                buf[value_start : min(value_end, value_start + HEAD_BYTES)]
                if mode == HEAD
                else buf[value_start:value_end]
            )
            pos = value_end
        return values
    if kind != 0x12 and kind != 0x1A:
        raise _OffCanonical
    if list_start == list_end:
        if (kind == 0x12 and mode == RAW_FLOAT) or (kind == 0x1A and mode == RAW_INT):
            return b""
        return np.zeros(0, np.float32 if kind == 0x12 else np.int64)
    if buf[list_start] != 0x0A:  # unpacked values
        raise _OffCanonical
    length = buf[list_start + 1]
    if length < 0x80:
        values_start = list_start + 2
        values_end = values_start + length
    else:
        values_end, values_start = _length(buf, list_start + 1, list_end)
    if values_end != list_end:
        raise _OffCanonical
    if kind == 0x12:  # float_list
        if (values_end - values_start) & 3:
            raise _OffCanonical
        if mode == RAW_FLOAT:
            return buf[values_start:values_end]
        # A slice, not a view of ``buf``: a view would keep the whole record (its image) alive.
        return np.frombuffer(buf[values_start:values_end], _FLOAT32_LE)
    payload = buf[values_start:values_end]  # int64_list
    if mode == RAW_INT:
        if payload[-1] >= 0x80:  # the last varint is cut: the reference decoder names the damage
            raise _OffCanonical
        return payload
    if max(payload) < 0x80:  # one byte per value: labels, flags
        return np.frombuffer(payload, np.uint8).astype(np.int64)
    if len(payload) > 64:  # long lists of large numbers: the reference decoder's vectorized path
        raise _OffCanonical
    return np.array(_varints(payload), dtype=np.int64)


def varint_values(payload: bytes) -> list[int]:
    """The int64 values of a packed varint payload (a ``raw_int_keys`` value).

    Example:
        >>> varint_values(bytes([0xAC, 0x02, 0x05]))
        [300, 5]
    """
    values = []
    value = shift = 0
    for byte in payload:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            value &= (1 << 64) - 1
            values.append(value - (1 << 64) if value >= 1 << 63 else value)
            value = shift = 0
        else:
            shift += 7
            if shift >= 70:
                raise FormatError("an int64 list holds a varint longer than 10 bytes")
    if shift:
        raise FormatError("an int64 list ends inside a varint")
    return values


def _encode_varints(values: np.ndarray) -> bytes:
    out = bytearray()
    for value in values.astype(np.int64).view(np.uint64).tolist():
        while value > 0x7F:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _varints(payload: bytes) -> list[int]:
    """Non-negative values of a short packed varint list (a negative number leaves the fast path)."""
    values = []
    value = shift = 0
    for byte in payload:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= 1 << 63:
                raise _OffCanonical
            values.append(value)
            value = shift = 0
        else:
            shift += 7
            if shift > 63:
                raise _OffCanonical
    if shift:
        raise _OffCanonical  # the last varint is cut
    return values


KIND_NAMES = {0x0A: "bytes", 0x12: "float", 0x1A: "int64"}


def feature_kinds(data: bytes) -> dict[str, str]:
    """``{key: "bytes" | "float" | "int64" | "unset"}`` of every feature of a record, without decoding values.

    Example:
        >>> from tfodkit.example import encode_example
        >>> feature_kinds(encode_example({"a": [1], "b": [b"x"], "c": [0.5]}))
        {'a': 'int64', 'b': 'bytes', 'c': 'float'}
    """
    try:
        return _walk_kinds(data)
    except (_OffCanonical, IndexError):
        from tfodkit.example import feature_type
        from tfodkit.example.decode import decode_example

        kinds = {}
        for key, value in decode_example(data).items():
            if isinstance(value, list) and not value:
                kinds[key] = "bytes"  # an empty bytes list and an unset feature decode alike
            else:
                kinds[key] = feature_type(value).name.lower()
        return kinds


def _walk_kinds(buf: bytes) -> dict[str, str]:
    end = len(buf)
    out: dict[str, str] = {}
    if end == 0:
        return out
    if buf[0] != 0x0A:
        raise _OffCanonical
    stop, pos = _length(buf, 1, end)
    if stop != end:
        raise _OffCanonical
    while pos < stop:
        if buf[pos] != 0x0A:
            raise _OffCanonical
        entry_end, key_tag = _length(buf, pos + 1, stop)
        if buf[key_tag] != 0x0A:
            raise _OffCanonical
        key_end, key_start = _length(buf, key_tag + 1, entry_end)
        kind = "unset"
        if key_end < entry_end:
            if buf[key_end] != 0x12:
                raise _OffCanonical
            feature_end, feature_start = _length(buf, key_end + 1, entry_end)
            if feature_end != entry_end:
                raise _OffCanonical
            if feature_start < feature_end:
                kind_name = KIND_NAMES.get(buf[feature_start])
                if kind_name is None or _length(buf, feature_start + 1, feature_end)[0] != feature_end:
                    raise _OffCanonical
                kind = kind_name
        out[buf[key_start:key_end].decode("utf-8", "surrogateescape")] = kind
        pos = entry_end
    return out
