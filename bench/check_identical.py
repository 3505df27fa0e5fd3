"""Outputs byte-identical for every worker count, and unchanged by speed work: SHA-256 of every output file.

Runs each case of ``bench_scale.py`` on its 1,000-image dataset with 1 and 2 workers (3 for good measure), hashes
every file the run wrote, and checks that all worker counts agree. ``--save FILE`` keeps the hashes (take them
before a change); ``--against FILE`` checks that a later tree writes the very same bytes.

    .venv/bin/python bench/check_identical.py --save bench/out/scale/before.json    # before the change
    .venv/bin/python bench/check_identical.py --against bench/out/scale/before.json # after it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import CASES, ENV, SCALE, convert_command, dataset  # noqa: E402


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--save", type=Path, help="write the hashes here")
    parser.add_argument("--against", type=Path, help="compare with hashes saved before")
    arguments = parser.parse_args()
    found: dict[str, dict[str, str]] = {}
    problems = []
    for case in CASES:
        source = dataset(CASES[case][0], arguments.images)
        per_workers = {}
        for workers in map(int, arguments.workers.split(",")):
            work = SCALE / f"check_{case}_{workers}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            command, _ = convert_command(case, source, work, workers)
            subprocess.run(command, env=ENV, check=True)
            per_workers[workers] = hashes(work)
            shutil.rmtree(work)
        first = next(iter(per_workers.values()))
        for workers, found_hashes in per_workers.items():
            if found_hashes != first:
                problems.append(f"{case}: {workers} workers wrote other bytes than {next(iter(per_workers))}")
        found[case] = first
        agree = all(found_hashes == first for found_hashes in per_workers.values())
        print(f"{case}: {len(first)} files, {len(per_workers)} worker counts agree: {agree}")
    if arguments.against:
        before = json.loads(arguments.against.read_text())
        for case, case_hashes in found.items():
            if case in before and before[case] != case_hashes:
                problems.append(f"{case}: output differs from {arguments.against}")
            elif case in before:
                print(f"{case}: identical to {arguments.against}")
    if arguments.save:
        arguments.save.write_text(json.dumps(found, indent=2, sort_keys=True))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        raise SystemExit(1)
    print("all outputs identical")


if __name__ == "__main__":
    main()
