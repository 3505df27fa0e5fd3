"""Fuzz the ``tf.train.Example`` decoder and the detection schema on top of it.

Per input: ``decode_example`` must give a dict or an ``ExampleDecodeError``; what it gives must re-encode and
decode to the same values (the codec's round-trip property); and ``example_to_item`` on it must give an item
(every lazy part forced: masks decoded, image size read) or a ``TfodError``.
"""

from __future__ import annotations

import numpy as np
from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.example import decode_example, encode_example
    from tfodkit.formats.tfod import example_to_item
    from tfodkit.model import LabelMap


def _same(left: dict, right: dict) -> bool:
    if sorted(left) != sorted(right):  # the encoder sorts keys; the decoder keeps the data's order
        return False
    for key, value in left.items():
        other = right[key]
        if isinstance(value, np.ndarray):
            if not isinstance(other, np.ndarray) or value.dtype != other.dtype or value.tobytes() != other.tobytes():
                return False
        elif value != other:
            return False
    return True


@only_typed_errors
def test_one_input(data: bytes) -> None:
    features = decode_example(data)
    again = decode_example(encode_example(features))  # re-encoding what was decoded must never fail
    if not _same(features, again):
        raise AssertionError(f"round trip changed the features: {features!r} != {again!r}")
    item = example_to_item(features, LabelMap(), where="fuzz.tfrecord", record_index=0)
    touch_item(item)


def seeds() -> list[bytes]:
    """Valid detection records (boxes, masks, extras, empty image) in canonical and unpacked encodings."""
    from tfodkit.example import encode_example
    from tfodkit.model import encode_png_mask

    mask = np.zeros((4, 6), dtype=bool)
    mask[1:3, 2:5] = True
    full = {
        "image/filename": [b"a.jpg"],
        "image/source_id": [b"7"],
        "image/height": [4],
        "image/width": [6],
        "image/encoded": [b""],
        "image/format": [b""],
        "image/key/sha256": [b""],
        "image/object/bbox/xmin": [0.1, 0.5],
        "image/object/bbox/xmax": [0.4, 0.9],
        "image/object/bbox/ymin": [0.0, 0.25],
        "image/object/bbox/ymax": [0.5, 1.0],
        "image/object/class/label": [1, 2],
        "image/object/class/text": [b"cat", "自行车".encode()],
        "image/object/difficult": [0, 1],
        "image/object/view": [b"Left", b""],
        "image/object/area": [1.5, 2.0],
        "image/object/mask": [encode_png_mask(mask), b""],
        "custom/extra": [-1, 2**62],
    }
    only_labels = {"image/height": [2], "image/width": [2], "image/object/bbox/xmin": [0.0],
                   "image/object/bbox/xmax": [1.0], "image/object/bbox/ymin": [0.0], "image/object/bbox/ymax": [1.0],
                   "image/object/class/label": [3]}
    numerical = dict(only_labels, **{"image/object/mask": np.ones(4, np.float32)})
    unpacked_floats = bytes.fromhex("0a1a0a180a0178121312110d0000803f0d000000400a0401020304")
    return [encode_example(full), encode_example(only_labels), encode_example(numerical), encode_example({}),
            unpacked_floats, b""]


if __name__ == "__main__":
    fuzz_main(test_one_input)
