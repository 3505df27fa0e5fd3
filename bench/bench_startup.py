"""Start-up: `tfod --help` and `tfod info small.tfrecord`, whole processes, beside the interpreter's own floor.

Each command runs N times (interleaved, so a burst of load hits them alike) as a whole process from a tiny
launcher, with tfodkit's bytecode compiled first (this machine sets PYTHONDONTWRITEBYTECODE, which would make
every run compile tfodkit from source); the table gives the median and the fastest wall time, and the median CPU
time. ``python -c pass`` is the floor no Python command can go under, ``python -c "import click"`` the floor of a
click CLI; the load average is printed beside them, as the figures move with it on a shared machine.

    python bench/bench_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_process
from results import record

TARGET_MS = 80.0


def tfod_command() -> list[str]:
    """The `tfod` console script beside this interpreter, else ``python -m tfodkit`` (same code, runpy on top)."""
    script = Path(sys.executable).parent / "tfod"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tfodkit"]


def make_small_record(folder: str) -> str:
    """A one-record .tfrecord with its label_map.pbtxt, written by tfodkit."""
    code = (
        "import sys\n"
        "from tfodkit.formats import tfod\n"
        "from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects\n"
        "items = [Item('a', ImageRef('a.jpg', width=8, height=8), Objects.from_boxes([[0, 0, 4, 4]], [1]))]\n"
        "tfod.write(Dataset(items, LabelMap.from_names(['cat'])), sys.argv[1], save_images=False)\n"
    )
    path = os.path.join(folder, "small.tfrecord")
    subprocess.run([sys.executable, "-c", code, path], check=True, env=_environment())
    return path


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (the median is reported)")
    arguments = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "tfodkit")], check=True)
    with tempfile.TemporaryDirectory() as folder:
        small = make_small_record(folder)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "tfod --help": [*tfod_command(), "--help"],
            "tfod info small.tfrecord": [*tfod_command(), "info", small],
        }
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        load_before = os.getloadavg()[0]
        for _ in range(arguments.runs):
            for name, command in commands.items():
                wall, cpu, _rss, _out = run_process(command, env=_environment())
                walls[name].append(wall * 1000)
                cpus[name].append(cpu * 1000)
        load_after = os.getloadavg()[0]
    floor = statistics.median(walls["python -c pass (floor)"])
    lines = [
        "| command | median wall ms | fastest wall ms | median CPU ms | median wall − floor ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in commands:
        median = statistics.median(walls[name])
        lines.append(
            f"| {name} | {median:.1f} | {min(walls[name]):.1f} | {statistics.median(cpus[name]):.1f} "
            f"| {median - floor:.1f} |"
        )
    table = "\n".join(lines)
    load = f"load average {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} cores"
    print(f"{arguments.runs} runs each, {load}\n\n{table}")
    help_ms = statistics.median(walls["tfod --help"])
    info_ms = statistics.median(walls["tfod info small.tfrecord"])
    record(
        "S2",
        title="Start-up: `tfod --help`, `tfod info small.tfrecord` (whole process)",
        result=f"--help {help_ms:.0f} ms, info {info_ms:.0f} ms (python -c pass {floor:.0f} ms; {load})",
        target=f"<= {TARGET_MS:.0f} ms each",
        met=help_ms <= TARGET_MS and info_ms <= TARGET_MS,
        table=table,
        figures={"help_ms": help_ms, "info_ms": info_ms, "floor_ms": floor, "load": [load_before, load_after]},
    )


if __name__ == "__main__":
    main()
