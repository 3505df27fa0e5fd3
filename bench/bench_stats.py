"""`tfod stats` against a plain read of the same records (the issue's bar: at most 2x).

The dataset is bench_read.py's (20,000 records, ~90 KB JPEG-like payloads, ~1.8 GB), written once into
``bench/out/stats/`` (git-ignored) by tfodkit's writer. Every command runs as a whole process (start-up and
imports included). The page cache cannot be dropped here, so each command runs once to warm it, then
``--repeats`` times interleaved; the best wall time is reported, with the process's CPU time (user + system,
from ``wait4``), which stays meaningful when other jobs share the machine.

    .venv/bin/python bench/bench_stats.py [--records 20000] [--payload-kb 90] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT  # noqa: E402
from bench_read import WRITERS  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable

PLAIN_READ = r"""
import sys
from tfodkit.records import read_records
records = 0
for data in read_records(sys.argv[1]):
    records += 1
print(records)
"""

READ_AND_DECODE = r"""
import sys
from tfodkit.example import decode_example
from tfodkit.records import read_records
records = 0
for data in read_records(sys.argv[1]):
    decode_example(data)
    records += 1
print(records)
"""

STATS = r"""
import json, sys
from tfodkit.cli import main
sys.argv = ["tfod", "stats", sys.argv[1], "--json", "--workers", sys.argv[2]]
main(sys.argv[1:])
"""


def run(command: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one child process."""
    with tempfile.TemporaryFile() as stdout_file, tempfile.TemporaryFile() as stderr_file:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout_file, stderr=stderr_file)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr_file.seek(0)
            raise RuntimeError(f"{command[:3]} failed:\n{stderr_file.read().decode(errors='replace')[-2000:]}")
        stdout_file.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout_file.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--payload-kb", type=float, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    folder = OUT / "stats"
    folder.mkdir(parents=True, exist_ok=True)
    dataset = folder / f"train-{args.records}-{args.payload_kb:g}kb.tfrecord"
    if not dataset.exists():
        print(f"writing {args.records} records to {dataset} …", flush=True)
        run([PYTHON, "-c", WRITERS["tfodkit"], str(dataset), str(args.records), str(args.payload_kb)])
    size_gb = dataset.stat().st_size / 1e9
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    commands = {
        "plain read (read_records, CRCs checked)": [PYTHON, "-c", PLAIN_READ, str(dataset)],
        "read + full decode_example": [PYTHON, "-c", READ_AND_DECODE, str(dataset)],
        "tfod stats (default: one process)": [PYTHON, "-c", STATS, str(dataset), "1"],
        f"tfod stats --workers {workers}": [PYTHON, "-c", STATS, str(dataset), str(workers)],
    }
    best: dict[str, tuple[float, float, float]] = {}
    for name, command in commands.items():  # warm the page cache and check the outputs
        _, _, _, stdout = run(command)
        if name.startswith("tfod stats"):
            import json

            assert json.loads(stdout)["images"] == args.records, name
        else:
            assert int(stdout.split()[-1]) == args.records, name
    for _ in range(args.repeats):
        for name, command in commands.items():
            wall, cpu, rss, _ = run(command)
            previous = best.get(name)
            best[name] = (
                min(wall, previous[0]) if previous else wall,
                min(cpu, previous[1]) if previous else cpu,
                max(rss, previous[2]) if previous else rss,
            )
    base_wall, base_cpu, _ = best["plain read (read_records, CRCs checked)"]
    print(
        f"### tfod stats vs a plain read: {args.records} records, {size_gb:.2f} GB, best of {args.repeats} "
        f"(warm page cache, whole processes, {os.cpu_count()} cores)\n"
    )
    print("| command | wall s | × plain read | CPU s | CPU × plain read | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (wall, cpu, rss) in best.items():
        print(f"| {name} | {wall:.2f} | {wall / base_wall:.2f} | {cpu:.2f} | {cpu / base_cpu:.2f} | {rss:.0f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n(load average at the end: {load:.1f}; wall ratios need an idle machine, CPU ratios less so)")


if __name__ == "__main__":
    main()
