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
of the rest is making the arrays and copying the image). Number lists of 128 bytes to 16 KiB (the boxes of
32+ objects) get such plans too, and an image entry (16 KiB to 2 MiB) is read with a few byte checks and no
call; tests/test_example_layouts.py checks the layouts of the OD API's VOC and COCO tools, Datumaro, Roboflow
and tfodkit against protobuf.

One job per module: :mod:`~tfodkit.example.encode`, :mod:`~tfodkit.example.decode` (the reference decoder) and
:mod:`~tfodkit.example.partial` (a few keys of a record, the rest skipped without a copy, for the inspect tools).

Example:
    >>> decode_example(encode_example({"label": ["car"], "x": [0.5]}))
    {'label': [b'car'], 'x': array([0.5], dtype=float32)}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfodkit._lazy import lazy_exports

# name -> submodule, imported on first use: the partial decoder (tfod info) is in this package and needs no numpy
_EXPORTS = {
    "FeatureType": "tfodkit.example.encode",
    "FeatureValue": "tfodkit.example.decode",
    "decode_example": "tfodkit.example.decode",
    "encode_example": "tfodkit.example.encode",
    "feature_type": "tfodkit.example.encode",
}

__all__ = ["FeatureType", "FeatureValue", "decode_example", "encode_example", "feature_type"]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from tfodkit.example.decode import FeatureValue as FeatureValue
    from tfodkit.example.decode import decode_example as decode_example
    from tfodkit.example.encode import FeatureType as FeatureType
    from tfodkit.example.encode import encode_example as encode_example
    from tfodkit.example.encode import feature_type as feature_type
