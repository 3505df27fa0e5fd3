"""Regenerate the whole benchmark table (P1–P6) with one command: `make bench`.

Runs every bench script in the environment it needs (.venv: tfodkit alone; .venv-interop: TensorFlow, Datumaro
and the `tfrecord` package; .venv-beam: Apache Beam), one after another on a quiet machine, and writes
``bench/out/RESULTS.md``: a summary table (one row per figure, with its target and whether it is met) followed
by each script's full printed output. With ``--readme README.md`` the summary also replaces the part of the
README between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.

A row of the summary table comes from the JSON a script saves with ``bench/results.py`` (``record("P4", …)``):
a figure with no saved result (a script that records none, failed or was not run) is left out of the table, so
the table states only figures with their targets; the script's full output is still in ``RESULTS.md``.

    python bench/run_all.py [--only P1,P4] [--quick] [--readme README.md]

With ``--only``, the figures not run keep their rows from the last run that saved them.

| id | figure | script | environment |
|---|---|---|---|
| P1 | read 20,000 records vs TensorFlow and the `tfrecord` package | bench_read.py | .venv |
| P2 | VOC -> TFRecord, 1,000 images, vs the TF OD API way and Datumaro | bench_voc.py | .venv-interop |
| P3 | COCO polygons -> TFRecord with masks, 1,000 images, vs Datumaro | bench_masks.py | .venv-interop |
| P4 | peak RSS flat from 1k to 100k images (VOC/COCO/CVAT <-> TFRecord) | bench_memory.py | .venv |
| P5 | 2 workers vs 1 on the mask case | bench_masks.py (same run as P3) | .venv-interop |
| P6 | Beam runner output identical to the local output | bench_beam.py | .venv-beam |
| X1 | CVAT XML export with images vs Datumaro | bench_export.py | .venv |
| X2 | CVAT XML reading vs Datumaro (no saved headline: not in the summary) | bench_cvat_xml.py | .venv |
| S1 | 10,000 and 100,000 images vs the byte-work floor, 1 vs 2 workers | bench_scale.py | .venv |
| D1 | Datumaro export through tfodkit's plugin vs Datumaro's TF plugin | bench_datumaro_plugin.py | .venv-interop |
| S2 | start-up: `tfod --help`, `tfod info small.tfrecord` beside `python -c pass` | bench_startup.py | .venv |
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import clear, load

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Bench:
    script: str
    venv: str
    ids: dict[str, str]  # result id -> what the figure is
    quick_args: list[str] = field(default_factory=list)  # smaller sizes for a fast check of the whole chain


BENCHES = [
    Bench(
        "bench_read.py",
        ".venv",
        {
            "P1": "Read + decode 20,000 records (CRC checked) vs TensorFlow, `tfrecord`",
            "P1b": "Read + decode 20,000 OD API VOC records (CRC checked) vs `tfrecord`",
        },
        ["--records", "2000"],
    ),
    Bench(
        "bench_voc.py",
        ".venv-interop",
        {"P2": "VOC -> TFRecord, 1,000 images embedded, vs TF OD API way, Datumaro"},
        ["--images", "100", "--runs", "1"],
    ),
    Bench(
        "bench_masks.py",
        ".venv-interop",
        {
            "P3": "COCO polygons -> TFRecord + PNG masks, 1,000 images, vs Datumaro",
            "P5": "2 workers vs 1 worker, mask case",
        },
        ["--images", "100", "--repeat", "1"],
    ),
    Bench(
        "bench_memory.py",
        ".venv",
        {"P4": "Peak RSS, 1k -> 100k images, VOC/COCO/CVAT <-> TFRecord"},
        ["--sizes", "300,3000"],
    ),
    Bench("bench_beam.py", ".venv-beam", {"P6": "Beam runner output vs local output"}, ["--images", "60"]),
    Bench(
        "bench_export.py",
        ".venv",
        {"X1": "CVAT XML -> CVAT TFRecord zip with images, vs Datumaro"},
        ["--images", "100"],
    ),
    Bench("bench_cvat_xml.py", ".venv", {"X2": "Read CVAT XML, 20,000 images, vs Datumaro"}, ["--images", "2000"]),
    Bench(
        "bench_scale.py",
        ".venv",
        {"S1": "10,000 / 100,000 images vs the byte-work floor, 1 vs 2 workers"},
        ["--images", "1000,3000"],
    ),
    Bench(
        "bench_datumaro_plugin.py",
        ".venv-interop",
        {"D1": "Datumaro export through tfodkit's plugin vs Datumaro's TF plugin, 1,000 images"},
        ["--images", "100", "--runs", "1"],
    ),
    Bench(
        "bench_startup.py",
        ".venv",
        {"S2": "Start-up: `tfod --help`, `tfod info small.tfrecord` (whole process)"},
        ["--runs", "5"],
    ),
]


def run_bench(bench: Bench, quick: bool) -> tuple[str, float, int]:
    """(stdout, seconds, exit code) of one script, its output echoed as it comes."""
    python = ROOT / bench.venv / "bin" / "python"
    if not python.exists():
        return f"(not run: {bench.venv} does not exist; `make` creates it)\n", 0.0, -1
    command = [str(python), str(BENCH / bench.script), *(bench.quick_args if quick else [])]
    print(f"\n=== {bench.script} ({bench.venv}) ===", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = process.wait()
    return "".join(lines), time.perf_counter() - started, code


def summary_table(rows: list[tuple[str, str, str, str, str]]) -> str:
    lines = ["| | figure | tfodkit (and the comparison) | target | met |", "|---|---|---|---|:---:|"]
    lines += [
        f"| {result_id} | {title} | {result} | {target} | {met} |" for result_id, title, result, target, met in rows
    ]
    return "\n".join(lines)


def update_readme(readme: Path, text: str) -> None:
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(START), content.find(END)
    if start < 0 or end < start:
        print(f"{readme}: no {START} … {END} block; not changed", file=sys.stderr)
        return
    readme.write_text(content[: start + len(START)] + "\n" + text + "\n" + content[end:], encoding="utf-8")


def saved_row(result_id: str, title: str) -> tuple[str, str, str, str, str]:
    """The summary row of a figure a script saved (``bench/results.py``)."""
    saved = load(result_id)
    assert saved is not None
    met = {True: "✓", False: "✗", None: ""}[saved.get("met")]
    return result_id, saved.get("title") or title, saved["result"], saved.get("target", ""), met


def saved_rows(bench: Bench) -> list[tuple[str, str, str, str, str]]:
    """The rows of ``bench``'s figures that have a saved result; the others are left out of the table."""
    return [saved_row(result_id, title) for result_id, title in bench.ids.items() if load(result_id) is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated ids (P1,P4,…): run only the scripts giving them")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the chain, figures not comparable")
    parser.add_argument("--readme", type=Path, help="also put the summary into this README's bench block")
    arguments = parser.parse_args()
    wanted = {part.strip() for part in arguments.only.split(",") if part.strip()}

    # An editable install compiles nothing, and PYTHONDONTWRITEBYTECODE would make every timed process compile
    # tfodkit's modules from source again (~40 ms each run): compile them once, as `pip install` does.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "tfodkit")], check=True)
    rows: list[tuple[str, str, str, str, str]] = []
    sections: list[str] = []
    for bench in BENCHES:
        if wanted and not wanted & set(bench.ids):  # not run now: its rows from the last run, when there are some
            rows.extend(saved_rows(bench))
            continue
        if not (BENCH / bench.script).exists():
            continue
        for result_id in bench.ids:
            clear(result_id)
        output, seconds, code = run_bench(bench, arguments.quick)
        status = "" if code == 0 else f" — exited with {code}"
        sections.append(
            f"### {', '.join(bench.ids)}: {bench.script} ({bench.venv}, {seconds:.0f} s){status}\n\n{output.strip()}\n"
        )
        rows.extend(saved_rows(bench))  # a figure the script saved no result for stays out of the table

    machine = f"{sys.platform}, {__import__('os').cpu_count()} cores"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    quick = " (--quick: small sizes, not the reference figures)" if arguments.quick else ""
    summary = f"Benchmarks of {stamp} on {machine}{quick}; whole processes, wall time.\n\n{summary_table(rows)}"
    report = f"# tfodkit benchmarks\n\n{summary}\n\n## Full output\n\n" + "\n".join(sections)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "RESULTS.md").write_text(report, encoding="utf-8")
    print(f"\n{summary}\n\nwritten: {OUT / 'RESULTS.md'}")
    if arguments.readme:
        update_readme(arguments.readme, summary)


if __name__ == "__main__":
    main()
