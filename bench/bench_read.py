"""Read and write a synthetic detection TFRecord: tfodkit vs TensorFlow vs the `tfrecord` PyPI package.

Every tool runs as a WHOLE PROCESS (start-up and imports included), timed by wall clock, with its peak RSS
from ``wait4``. The dataset (default 20,000 records with ~90 KB JPEG-like payloads, ~1.8 GB) is written by
the tfodkit writer run into ``bench/out/read/`` (git-ignored) and then read by every reader. The page cache
cannot be dropped here, so each reader runs once cold (not reported), then ``--runs`` times warm (default 1;
the fastest is reported). CPU time (user + system) is shown beside wall time: it is the steadier figure when
other work shares the machine, and it shows how many cores a tool kept busy.

TensorFlow and the `tfrecord` package run in ``.venv-interop`` (``make`` creates it); tools missing there
are skipped with a note.

    .venv/bin/python bench/bench_read.py [--records 20000] [--payload-kb 90] [--skip-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import INTEROP_PYTHON, OUT, ROOT, markdown_table, run_process  # noqa: E402

# The features of record i, as plain Python values so every writer gets the very same input. Payloads come
# from a pool of 16 random blobs (generating 1.8 GB of random bytes would dominate the write timings).
FEATURES = r"""
import random
def make_pool(payload_kb):
    rng = random.Random(0)
    size = int(payload_kb * 1024)
    return [b"\xff\xd8\xff\xe0" + rng.randbytes(max(0, size - 6)) + b"\xff\xd9" for _ in range(16)]
def features_of(i, pool):
    rng = random.Random(i)
    boxes = rng.randint(1, 9)
    xmin = [rng.random() * 0.5 for _ in range(boxes)]
    ymin = [rng.random() * 0.5 for _ in range(boxes)]
    labels = [rng.randint(1, 79) for _ in range(boxes)]
    name = b"%08d.jpg" % i
    return {
        "image/height": ("int", [480]), "image/width": ("int", [640]),
        "image/filename": ("bytes", [name]), "image/source_id": ("bytes", [name]),
        "image/encoded": ("bytes", [pool[i % len(pool)]]), "image/format": ("bytes", [b"jpeg"]),
        "image/key/sha256": ("bytes", [b"0" * 64]),
        "image/object/bbox/xmin": ("float", xmin), "image/object/bbox/xmax": ("float", [x + 0.25 for x in xmin]),
        "image/object/bbox/ymin": ("float", ymin), "image/object/bbox/ymax": ("float", [y + 0.25 for y in ymin]),
        "image/object/class/label": ("int", labels),
        "image/object/class/text": ("bytes", [b"class_%d" % label for label in labels]),
        "image/object/difficult": ("int", [0] * boxes), "image/object/truncated": ("int", [0] * boxes),
    }
"""

WRITERS = {
    "tfodkit": FEATURES
    + r"""
import sys
from tfodkit.example import encode_example
from tfodkit.records import RecordWriter
path, records, payload_kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pool = make_pool(payload_kb)
with RecordWriter(path) as writer:
    for i in range(records):
        writer.write(encode_example({key: values for key, (_, values) in features_of(i, pool).items()}))
print(records)
""",
    "TensorFlow": FEATURES
    + r"""
import sys
import tensorflow as tf
path, records, payload_kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pool = make_pool(payload_kb)
def feature(kind, values):
    if kind == "int":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
with tf.io.TFRecordWriter(path) as writer:
    for i in range(records):
        example = tf.train.Example(features=tf.train.Features(
            feature={key: feature(kind, values) for key, (kind, values) in features_of(i, pool).items()}))
        writer.write(example.SerializeToString())
print(records)
""",
    "tfrecord (PyPI)": FEATURES
    + r"""
import sys
from tfrecord.writer import TFRecordWriter
path, records, payload_kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pool = make_pool(payload_kb)
kinds = {"int": "int", "float": "float", "bytes": "byte"}
writer = TFRecordWriter(path)
for i in range(records):
    writer.write({key: (values, kinds[kind]) for key, (kind, values) in features_of(i, pool).items()})
writer.close()
print(records)
""",
}

READERS = {
    "tfodkit read + decode (CRC on)": r"""
import sys
from tfodkit.example import decode_example
from tfodkit.records import read_records
records = payload = 0
for data in read_records(sys.argv[1]):
    features = decode_example(data)
    payload += len(features["image/encoded"][0])
    records += 1
print(records)
""",
    "tfodkit read only (CRC on)": r"""
import sys
from tfodkit.records import read_records
records = 0
for data in read_records(sys.argv[1]):
    records += 1
print(records)
""",
    "TensorFlow TFRecordDataset + parse_example": r"""
import sys
import tensorflow as tf
spec = {key: tf.io.FixedLenFeature([], tf.string) for key in
        ("image/encoded", "image/filename", "image/source_id", "image/format", "image/key/sha256")}
spec.update({key: tf.io.FixedLenFeature([], tf.int64) for key in ("image/height", "image/width")})
spec.update({"image/object/bbox/" + side: tf.io.VarLenFeature(tf.float32) for side in ("xmin", "xmax", "ymin", "ymax")})
spec.update({key: tf.io.VarLenFeature(tf.int64) for key in
             ("image/object/class/label", "image/object/difficult", "image/object/truncated")})
spec["image/object/class/text"] = tf.io.VarLenFeature(tf.string)
dataset = (tf.data.TFRecordDataset(sys.argv[1]).batch(64)
           .map(lambda batch: tf.io.parse_example(batch, spec), num_parallel_calls=tf.data.AUTOTUNE)
           .prefetch(tf.data.AUTOTUNE))
records = 0
for batch in dataset:
    records += int(batch["image/encoded"].shape[0])
print(records)
""",
    "tfrecord (PyPI) reader + parsing (no CRC check)": r"""
import sys
from tfrecord.reader import tfrecord_loader
records = 0
for features in tfrecord_loader(sys.argv[1], None):
    records += 1
print(records)
""",
}

TOOL_OF = {
    "tfodkit": "tfodkit",
    "TensorFlow": "tensorflow",
    "tfrecord (PyPI)": "tfrecord",
}


def available(module: str) -> bool:
    """True when ``module`` imports in the interpreter its tool runs in."""
    python = interpreter(module)
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def interpreter(module: str) -> str:
    if module == "tfodkit":
        local = ROOT / ".venv" / "bin" / "python"
        return str(local) if local.exists() else sys.executable
    return str(INTEROP_PYTHON)


def module_of(name: str) -> str:
    if name.startswith("tfodkit"):
        return "tfodkit"
    if name.startswith("TensorFlow"):
        return "tensorflow"
    return "tfrecord"


def quiet_env() -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--payload-kb", type=float, default=90)
    parser.add_argument("--skip-write", action="store_true", help="reuse the dataset of an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the files written by the other writers")
    parser.add_argument("--runs", type=int, default=1, help="warm runs per reader (the best is reported)")
    parser.add_argument("--only", default="", help="run only the tools whose name contains this text")
    args = parser.parse_args()

    work = OUT / "read"
    work.mkdir(parents=True, exist_ok=True)
    dataset = work / "train.tfrecord"
    env = quiet_env()
    modules = {module: available(module) for module in ("tfodkit", "tensorflow", "tfrecord")}
    print(f"{args.records} records, ~{args.payload_kb:g} KB payload each; whole processes, wall time, peak RSS\n")

    if not args.skip_write or not dataset.exists():
        rows = []
        for name, program in WRITERS.items():
            if args.only.lower() not in name.lower():
                continue
            module = TOOL_OF[name]
            if not modules[module]:
                print(f"(skipped {name}: `{module}` does not import in {interpreter(module)})")
                continue
            target = dataset if module == "tfodkit" else work / f"written-by-{module}.tfrecord"
            command = [interpreter(module), "-c", program, str(target), str(args.records), str(args.payload_kb)]
            wall, cpu, rss, _ = run_process(command, env)
            rows.append((f"{name} (encode + write)", wall, cpu, rss))
            if target != dataset and not args.keep:
                target.unlink()
        size_gb = dataset.stat().st_size / 1e9
        print(f"### Writing {args.records} records ({size_gb:.2f} GB)\n")
        print(markdown_table(rows, rows[0][0]))
        print()

    size_gb = dataset.stat().st_size / 1e9
    rows = []
    for name, program in READERS.items():
        if args.only.lower() not in name.lower() and not name.startswith("tfodkit read + decode"):
            continue
        module = module_of(name)
        if not modules[module]:
            print(f"(skipped {name}: `{module}` does not import in {interpreter(module)})")
            continue
        command = [interpreter(module), "-c", program, str(dataset)]
        run_process(command, env)  # cold run: fills the page cache, not reported
        best = None
        for _ in range(args.runs):
            wall, cpu, rss, stdout = run_process(command, env)
            count = int(stdout.split()[-1])
            if count != args.records:
                raise SystemExit(f"{name} read {count} records, expected {args.records}")
            if best is None or wall < best[1]:
                best = (name, wall, cpu, rss)
        rows.append(best)
    runs = "the second (warm) run of two" if args.runs == 1 else f"the best of {args.runs} warm runs after a cold one"
    print(f"### Reading {args.records} records ({size_gb:.2f} GB), {runs}\n")
    table = markdown_table(rows, rows[0][0])
    print(table)
    by_name = {row[0]: row for row in rows}
    ours = rows[0]
    tensorflow = next((row for name, row in by_name.items() if name.startswith("TensorFlow")), None)
    package = next((row for name, row in by_name.items() if name.startswith("tfrecord")), None)
    if tensorflow and package:
        from results import record

        vs_tf, vs_package = ours[1] / tensorflow[1], ours[1] / package[1]
        record("P1", title=f"Read + decode {args.records:,} records ({size_gb:.2f} GB), CRC checked",
               result=f"{ours[1]:.2f} s, {ours[-1]:.0f} MB: {vs_tf:.2f}x TensorFlow's time, {vs_package:.2f}x the "
                      "tfrecord package's",
               target="<= 0.25x TensorFlow, <= 0.6x tfrecord, <= 100 MB",
               met=vs_tf <= 0.25 and vs_package <= 0.6 and ours[-1] <= 100, table=table)


if __name__ == "__main__":
    main()
