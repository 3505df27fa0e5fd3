"""Which Example codec is faster: tfodkit's hand-written one or the protobuf (upb) runtime?

Both produce the same thing: ``{key: list[bytes] | float32 array | int64 array}`` from bytes, and bytes from
that dict (deterministic). Records are realistic detection records (``bench/_common.detection_features``).

    .venv/bin/python bench/bench_codec.py [--records 2000] [--payload-kb 90]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import detection_features, example_message_class  # noqa: E402

from tfodkit.example import decode_example, encode_example  # noqa: E402


def protobuf_codec():
    example_class = example_message_class()

    def decode(data: bytes) -> dict:
        out = {}
        for key, feature in example_class.FromString(data).features.feature.items():
            kind = feature.WhichOneof("kind")
            if kind == "bytes_list":
                out[key] = list(feature.bytes_list.value)
            elif kind == "float_list":
                out[key] = np.array(feature.float_list.value, np.float32)
            elif kind == "int64_list":
                out[key] = np.array(feature.int64_list.value, np.int64)
            else:
                out[key] = []
        return out

    def encode(features: dict) -> bytes:
        example = example_class()
        feature_map = example.features.feature
        for key, values in features.items():
            if isinstance(values, np.ndarray) and values.dtype.kind == "f":
                feature_map[key].float_list.value.extend(values.tolist())
            elif isinstance(values, np.ndarray):
                feature_map[key].int64_list.value.extend(values.tolist())
            else:
                feature_map[key].bytes_list.value.extend(values)
        return example.SerializeToString(deterministic=True)

    return decode, encode


def interleaved_best(repeats: int, functions: dict, inputs) -> dict:
    """Best time of each function over ``inputs``, runs interleaved so load from elsewhere hits all alike."""
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            for value in inputs:
                function(value)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--payload-kb", type=float, default=90)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    # Decoded form (what both encoders take): the same dict decode_example gives.
    decoded = [decode_example(encode_example(detection_features(i, args.payload_kb, rng))) for i in range(args.records)]
    serialized = [encode_example(features) for features in decoded]
    pb_decode, pb_encode = protobuf_codec()
    # same results, or the comparison means nothing
    for features, data in zip(decoded[:50], serialized[:50], strict=True):
        assert pb_encode(features) == data
        assert encode_example(pb_decode(data)) == data

    decode_s = interleaved_best(args.repeats, {"tfodkit": decode_example, "protobuf": pb_decode}, serialized)
    encode_s = interleaved_best(args.repeats, {"tfodkit": encode_example, "protobuf": pb_encode}, decoded)
    rows = [
        ("tfodkit (hand-written)", decode_s["tfodkit"], encode_s["tfodkit"]),
        ("protobuf upb runtime", decode_s["protobuf"], encode_s["protobuf"]),
    ]
    per = 1e6 / args.records
    print(f"{args.records} records, {args.payload_kb:g} KB payload, best of {args.repeats}; µs per record\n")
    print("| codec | decode µs | encode µs | decode+encode µs |")
    print("|---|---:|---:|---:|")
    for name, decode_s, encode_s in rows:
        print(f"| {name} | {decode_s * per:.1f} | {encode_s * per:.1f} | {(decode_s + encode_s) * per:.1f} |")


if __name__ == "__main__":
    main()
