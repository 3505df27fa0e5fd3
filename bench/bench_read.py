"""Read and write a synthetic detection TFRecord: tfodkit vs TensorFlow vs the `tfrecord` PyPI package.

Every tool runs as a WHOLE PROCESS (start-up and imports included), timed by wall clock, with its peak RSS
from ``wait4``. The dataset (default 20,000 records with ~90 KB JPEG-like payloads, ~1.8 GB) is written by
the tfodkit writer run into ``bench/out/read/`` (git-ignored) and then read by every reader. The page cache
cannot be dropped here, so each reader runs once cold (not reported), then ``--runs`` times warm (default 1;
the fastest is reported). CPU time (user + system) is shown beside wall time: it is the steadier figure when
other work shares the machine, and it shows how many cores a tool kept busy.

TensorFlow and the `tfrecord` package run in ``.venv-interop`` (``make`` creates it); tools missing there
are skipped with a note.

A second case reads records made the way the TF OD API's ``create_pascal_tf_record.py`` makes them (its logic
in ``bench/pascal_reference.py``, run with TensorFlow: the full VOC key set, TensorFlow's map order, box
coordinates divided in float64), which is what most people feed to a reader. On the busy machine the
figure that counts is the ratio to the `tfrecord` package measured in the same run: ``--runs`` interleaved
rounds (tfodkit, the package, TensorFlow), the median of the per-round ratios is reported.

    .venv/bin/python bench/bench_read.py [--records 20000] [--payload-kb 90] [--skip-write] [--case both]
"""

from __future__ import annotations

import argparse
import os
import statistics
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
if len(sys.argv) > 2 and sys.argv[2] == "voc":  # create_pascal_tf_record.py also writes the poses
    spec["image/object/view"] = tf.io.VarLenFeature(tf.string)
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

# create_pascal_tf_record.py's records: VOC-like annotations (1-6 objects, poses, truncated/difficult flags),
# images from a pool of 16 real JPEGs padded to the payload size, hard-linked under the names the XML gives.
PASCAL_WRITER = r"""
import io, os, random, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
import tensorflow as tf
from PIL import Image
from pascal_reference import reference_example
path, records, payload_kb = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
CLASSES = ("aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse motorbike person "
           "pottedplant sheep sofa train tvmonitor").split()
POSES = ("Unspecified", "Left", "Right", "Frontal", "Rear")
label_map = {name: index for index, name in enumerate(CLASSES, start=1)}
root = path.parent / "voc-source"
images = root / "VOC2012" / "JPEGImages"
images.mkdir(parents=True, exist_ok=True)
rng = random.Random(0)
pool = []
for index in range(16):
    stream = io.BytesIO()
    Image.new("RGB", (500, 375), (index * 16, 80, 160)).save(stream, "JPEG", quality=90)
    jpeg = stream.getvalue()  # bytes after the end-of-image marker: the image still opens as a JPEG
    pool_path = root / f"pool-{index}.jpg"
    pool_path.write_bytes(jpeg + rng.randbytes(max(0, int(payload_kb * 1024) - len(jpeg))))
    pool.append(pool_path)
with tf.io.TFRecordWriter(str(path)) as writer:
    for i in range(records):
        filename = f"2008_{i:06d}.jpg"
        target = images / filename
        if target.exists():
            target.unlink()
        os.link(pool[i % len(pool)], target)
        width, height = 500, rng.choice((375, 333, 500, 281))
        objects = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 6))):
            x, y = rng.randint(1, width - 60), rng.randint(1, height - 60)
            objects.append({"name": rng.choice(CLASSES), "pose": rng.choice(POSES),
                            "truncated": str(rng.randint(0, 1)), "difficult": str(int(rng.random() < 0.1)),
                            "bndbox": {"xmin": str(x), "ymin": str(y), "xmax": str(x + rng.randint(10, 59)),
                                       "ymax": str(y + rng.randint(10, 59))}})
        data = {"folder": "VOC2012", "filename": filename, "size": {"width": str(width), "height": str(height)},
                "object": objects}
        writer.write(reference_example(data, str(root), label_map).SerializeToString())
print(records)
"""

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
    parser.add_argument(
        "--case",
        choices=("synthetic", "od-api-voc", "both"),
        default="both",
        help="tfodkit's synthetic records, create_pascal_tf_record.py's records, or both",
    )
    args = parser.parse_args()

    work = OUT / "read"
    work.mkdir(parents=True, exist_ok=True)
    env = quiet_env()
    modules = {module: available(module) for module in ("tfodkit", "tensorflow", "tfrecord")}
    print(f"{args.records} records, ~{args.payload_kb:g} KB payload each; whole processes, wall time, peak RSS\n")
    if args.case in ("synthetic", "both"):
        synthetic_case(args, work, env, modules)
    if args.case in ("od-api-voc", "both"):
        od_api_voc_case(args, work, env, modules)


def od_api_voc_case(args: argparse.Namespace, work: Path, env: dict, modules: dict) -> None:
    """Read records written by create_pascal_tf_record.py's logic: tfodkit vs the tfrecord package vs TensorFlow."""
    if not modules["tensorflow"]:
        print(f"(skipped the OD API VOC case: TensorFlow does not import in {INTEROP_PYTHON})")
        return
    dataset = work / "od-api-voc.tfrecord"
    if not args.skip_write or not dataset.exists():
        command = [
            str(INTEROP_PYTHON),
            "-c",
            PASCAL_WRITER,
            str(dataset),
            str(args.records),
            str(args.payload_kb),
            str(Path(__file__).resolve().parent),
        ]
        wall, _, _, _ = run_process(command, env)
        print(f"(wrote {args.records} records with create_pascal_tf_record.py's logic in {wall:.1f} s)\n")
    size_gb = dataset.stat().st_size / 1e9
    readers = {
        "tfodkit read + decode (CRC on)": [interpreter("tfodkit"), "-c", READERS["tfodkit read + decode (CRC on)"]],
        "tfrecord (PyPI) reader + parsing (no CRC check)": [
            str(INTEROP_PYTHON),
            "-c",
            READERS["tfrecord (PyPI) reader + parsing (no CRC check)"],
        ],
        "TensorFlow TFRecordDataset + parse_example": [
            str(INTEROP_PYTHON),
            "-c",
            READERS["TensorFlow TFRecordDataset + parse_example"],
        ],
    }
    readers = {name: command for name, command in readers.items() if modules[module_of(name)]}
    extra = {"TensorFlow TFRecordDataset + parse_example": ["voc"]}
    for name, command in readers.items():
        run_process([*command, str(dataset), *extra.get(name, [])], env)  # cold run: fills the page cache
    measured: dict[str, list[tuple[float, float, float]]] = {name: [] for name in readers}
    for _ in range(max(1, args.runs)):  # interleaved rounds: load from other work hits every tool alike
        for name, command in readers.items():
            wall, cpu, rss, stdout = run_process([*command, str(dataset), *extra.get(name, [])], env)
            if int(stdout.split()[-1]) != args.records:
                raise SystemExit(f"{name} read {stdout.split()[-1]} records, expected {args.records}")
            measured[name].append((wall, cpu, rss))
    rows = [
        (name, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs))
        for name, runs in measured.items()
    ]
    print(
        f"### Reading {args.records} records written by create_pascal_tf_record.py's logic ({size_gb:.2f} GB), "
        f"median of {max(1, args.runs)} interleaved warm runs\n"
    )
    table = markdown_table(rows, rows[0][0])
    print(table)
    ours = measured["tfodkit read + decode (CRC on)"]
    package = measured.get("tfrecord (PyPI) reader + parsing (no CRC check)")
    if package:
        ratios = sorted(mine[0] / theirs[0] for mine, theirs in zip(ours, package, strict=True))
        ratio = statistics.median(ratios)
        cpu_ratio = statistics.median(mine[1] / theirs[1] for mine, theirs in zip(ours, package, strict=True))
        print(
            f"\ntfodkit / tfrecord package, per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}"
            f" (CPU time: median {cpu_ratio:.2f})"
        )
        from results import record

        record(
            "P1b",
            title=f"Read + decode {args.records:,} OD API VOC records ({size_gb:.2f} GB), CRC checked",
            result=f"{rows[0][1]:.2f} s: {ratio:.2f}x the tfrecord package's time, {cpu_ratio:.2f}x its CPU time "
            f"(medians of {len(ratios)} rounds)",
            target="<= 0.5x tfrecord",
            met=ratio <= 0.5,
            table=table,
        )


def synthetic_case(args: argparse.Namespace, work: Path, env: dict, modules: dict) -> None:
    """tfodkit's own synthetic records: every writer, then every reader."""
    dataset = work / "train.tfrecord"

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
        record(
            "P1",
            title=f"Read + decode {args.records:,} records ({size_gb:.2f} GB), CRC checked",
            result=f"{ours[1]:.2f} s, {ours[-1]:.0f} MB: {vs_tf:.2f}x TensorFlow's time, {vs_package:.2f}x the "
            "tfrecord package's",
            target="<= 0.25x TensorFlow, <= 0.6x tfrecord, <= 100 MB",
            met=vs_tf <= 0.25 and vs_package <= 0.6 and ours[-1] <= 100,
            table=table,
        )


if __name__ == "__main__":
    main()
