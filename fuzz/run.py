"""Run the atheris harnesses and print how many inputs each tried and what it found.

Usage::

    python fuzz/run.py                          # every harness, 1,000,000 inputs each, 2 at a time
    python fuzz/run.py example records --runs 50000
    python fuzz/run.py --max-time 600 --jobs 2  # each harness for 10 minutes

Each harness starts from its seeds (valid inputs built with tfodkit, written to ``WORKDIR/<name>/``) and keeps
the corpus it grows there, so later runs go on from it. A crash (any exception that is not a ``TfodError``),
a hang (``--timeout`` seconds on one input) or memory beyond ``--rss-limit-mb`` stops that harness and leaves
the input as ``WORKDIR/<name>-crash-…`` (or ``-timeout-``, ``-oom-``): replay it with
``python fuzz/fuzz_<name>.py THAT_FILE``. Needs ``pip install -e '.[fuzz]'`` (atheris).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
HARNESSES = ["records", "example", "labelmap", "voc", "coco", "cvat_xml", "yolo", "zip"]
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_PROGRESS = re.compile(r"^#(\d+)\s", re.MULTILINE)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


@dataclass
class Outcome:
    name: str
    inputs: int
    seconds: float
    status: str  # "ok", or what stopped it and the artifact


def write_seeds(name: str, corpus: Path) -> int:
    """Write the harness's seeds into ``corpus`` (by content hash: re-running adds nothing twice)."""
    sys.path.insert(0, str(FUZZ_DIR))
    module = importlib.import_module(f"fuzz_{name}")
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = module.seeds()
    for seed in seeds:
        (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
    return len(seeds)


def write_dictionary(name: str, workdir: Path) -> Path | None:
    """Join the token lists the harness names in ``DICTIONARIES`` (files in fuzz/dicts/) into one -dict file."""
    module = importlib.import_module(f"fuzz_{name}")
    parts = getattr(module, "DICTIONARIES", ())
    if not parts:
        return None
    target = workdir / f"{name}.dict"
    target.write_text("".join((FUZZ_DIR / "dicts" / f"{part}.dict").read_text() for part in parts))
    return target


def run_harness(name: str, workdir: Path, args: argparse.Namespace) -> Outcome:
    corpus = workdir / name
    write_seeds(name, corpus)
    dictionary = write_dictionary(name, workdir)
    command = [
        sys.executable,
        str(FUZZ_DIR / f"fuzz_{name}.py"),
        str(corpus),
        f"-rss_limit_mb={args.rss_limit_mb}",
        f"-timeout={args.timeout}",
        f"-artifact_prefix={workdir}/{name}-",
        f"-max_len={args.max_len}",
        "-print_final_stats=1",
    ]
    if dictionary is not None:
        command.append(f"-dict={dictionary}")
    if args.max_time:
        command.append(f"-max_total_time={args.max_time}")
    else:
        command.append(f"-runs={args.runs}")
    log_path = workdir / f"{name}.log"
    started = time.monotonic()
    with open(log_path, "w") as log, tempfile.TemporaryDirectory(prefix=f"scratch-{name}-", dir=workdir) as scratch:
        environment = dict(os.environ, TFODKIT_FUZZ_SCRATCH=scratch)
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=FUZZ_DIR, env=environment)
    seconds = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    done = _DONE.search(text)
    if done:
        inputs = int(done.group(1))
    else:
        progress = _PROGRESS.findall(text)
        inputs = int(progress[-1]) if progress else 0
    status = "ok"
    if result.returncode != 0 or not done:
        artifact = _ARTIFACT.search(text)
        status = f"STOPPED (exit {result.returncode}); input: {artifact.group(1) if artifact else '?'}; log: {log_path}"
    return Outcome(name, inputs, seconds, status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=[], metavar="NAME",
                        help=f"harnesses to run (default all): {', '.join(HARNESSES)}")
    parser.add_argument("--runs", type=int, default=1_000_000, help="inputs per harness (default 1,000,000)")
    parser.add_argument("--max-time", type=int, default=0, help="seconds per harness instead of --runs")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="harnesses run at once")
    parser.add_argument("--workdir", type=Path, default=FUZZ_DIR / "work", help="corpora, logs, crash inputs")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take (a hang)")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory one harness may use")
    parser.add_argument("--max-len", type=int, default=8192, help="largest input in bytes")
    args = parser.parse_args(argv)
    names = args.names or HARNESSES
    unknown = sorted(set(names) - set(HARNESSES))
    if unknown:
        parser.error(f"unknown harness(es) {', '.join(unknown)}; known: {', '.join(HARNESSES)}")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda name: run_harness(name, workdir, args), names))
    print(f"{'harness':<10} {'inputs':>12} {'seconds':>9} {'inputs/s':>9}  result")
    for outcome in outcomes:
        rate = outcome.inputs / outcome.seconds if outcome.seconds else 0
        print(f"{outcome.name:<10} {outcome.inputs:>12,} {outcome.seconds:>9.0f} {rate:>9.0f}  {outcome.status}")
    return 0 if all(outcome.status == "ok" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
