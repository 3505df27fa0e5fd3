"""Shared helpers of the benchmarks: synthetic detection records, a protobuf Example class, process timing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"


def detection_features(index: int, payload_kb: float, rng: np.random.Generator) -> dict:
    """One realistic TF OD API record: a JPEG-like payload, ~5 boxes, 15 keys."""
    boxes = int(rng.integers(1, 10))
    payload = b"\xff\xd8\xff\xe0" + rng.bytes(max(0, int(payload_kb * 1024) - 6)) + b"\xff\xd9"
    xmin = rng.random(boxes).astype(np.float32) * 0.5
    ymin = rng.random(boxes).astype(np.float32) * 0.5
    labels = rng.integers(1, 80, boxes)
    name = f"{index:08d}.jpg".encode()
    return {
        "image/height": [480],
        "image/width": [640],
        "image/filename": [name],
        "image/source_id": [name],
        "image/encoded": [payload],
        "image/format": [b"jpeg"],
        "image/key/sha256": [b"0" * 64],
        "image/object/bbox/xmin": xmin,
        "image/object/bbox/xmax": xmin + 0.25,
        "image/object/bbox/ymin": ymin,
        "image/object/bbox/ymax": ymin + 0.25,
        "image/object/class/label": labels,
        "image/object/class/text": [f"class_{label}".encode() for label in labels],
        "image/object/difficult": np.zeros(boxes, np.int64),
        "image/object/truncated": np.zeros(boxes, np.int64),
    }


def example_message_class():
    """A ``tensorflow.Example`` protobuf class built at run time (no TensorFlow, no generated code)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    FDP = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="tfodkit_bench_example.proto", package="tensorflow", syntax="proto3")

    def message(name, *fields, options=None):
        msg = file.message_type.add(name=name)
        for field_name, number, type_, label, type_name, oneof in fields:
            field = msg.field.add(name=field_name, number=number, type=type_, label=label)
            if type_name:
                field.type_name = type_name
            if oneof is not None:
                field.oneof_index = oneof
        return msg

    repeated, optional = FDP.LABEL_REPEATED, FDP.LABEL_OPTIONAL
    message("BytesList", ("value", 1, FDP.TYPE_BYTES, repeated, None, None))
    message("FloatList", ("value", 1, FDP.TYPE_FLOAT, repeated, None, None))
    message("Int64List", ("value", 1, FDP.TYPE_INT64, repeated, None, None))
    feature = message(
        "Feature",
        ("bytes_list", 1, FDP.TYPE_MESSAGE, optional, ".tensorflow.BytesList", 0),
        ("float_list", 2, FDP.TYPE_MESSAGE, optional, ".tensorflow.FloatList", 0),
        ("int64_list", 3, FDP.TYPE_MESSAGE, optional, ".tensorflow.Int64List", 0),
    )
    feature.oneof_decl.add(name="kind")
    feature_entry = ".tensorflow.Features.FeatureEntry"
    features = message("Features", ("feature", 1, FDP.TYPE_MESSAGE, repeated, feature_entry, None))
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=FDP.TYPE_STRING, label=optional)
    entry.field.add(name="value", number=2, type=FDP.TYPE_MESSAGE, label=optional, type_name=".tensorflow.Feature")
    message("Example", ("features", 1, FDP.TYPE_MESSAGE, optional, ".tensorflow.Features", None))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.Example"))


# A tiny launcher (``python -S``) spawns the measured command and reports that child's own rusage: a child's
# ``ru_maxrss`` starts from the RSS high-water mark of the process that forked it (Linux keeps it across exec),
# so spawning straight from a bench process that grew while making data would inflate every figure.
_MEASURE = """import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - start} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} "
              f"{os.waitstatus_to_exitcode(status)}")
"""


def run_process(command: list[str], env: dict | None = None) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one child process, timed as a whole process.

    CPU time (user + system, all threads) and peak RSS come from ``wait4``'s rusage of that child alone
    (``ru_maxrss`` is in KiB on Linux), measured by a small launcher. CPU time is the steadier figure on a
    shared machine.
    """
    with tempfile.TemporaryDirectory() as scratch:
        measurement = os.path.join(scratch, "measurement")
        launched = subprocess.run(
            [sys.executable, "-S", "-c", _MEASURE, measurement, *map(str, command)], capture_output=True, env=env
        )
        if not os.path.exists(measurement):
            raise RuntimeError(f"launcher failed: {launched.stderr.decode(errors='replace')[-3000:]}")
        seconds, cpu_seconds, peak_kib, code = open(measurement).read().split()
    if int(code) != 0:
        stderr = launched.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({code}):\n{stderr[-3000:]}")
    return float(seconds), float(cpu_seconds), int(peak_kib) / 1024, launched.stdout.decode()


def markdown_table(rows: list[tuple], baseline: str) -> str:
    """A markdown table of ``(tool, wall s, CPU s, peak RSS MB)`` rows (or ``(tool, wall s, peak RSS MB)``),
    with each time's ratio to the ``baseline`` row."""
    with_cpu = all(len(row) == 4 for row in rows)
    base = {row[0]: row for row in rows}[baseline]
    if with_cpu:
        lines = [
            "| tool | wall s | × tfodkit (wall) | CPU s | × tfodkit (CPU) | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, wall, cpu, rss in rows:
            lines.append(
                f"| {name} | {wall:.2f} | {wall / base[1]:.2f} | {cpu:.2f} | {cpu / base[2]:.2f} | {rss:.0f} |"
            )
    else:
        lines = ["| tool | seconds | × tfodkit | peak RSS MB |", "|---|---:|---:|---:|"]
        for name, seconds, *_, rss in rows:
            lines.append(f"| {name} | {seconds:.2f} | {seconds / base[1]:.2f} | {rss:.0f} |")
    return "\n".join(lines)


def python_for(tool: str) -> str:
    """The interpreter a tool runs in: TensorFlow and the tfrecord package live in .venv-interop."""
    return str(INTEROP_PYTHON) if INTEROP_PYTHON.exists() else sys.executable
