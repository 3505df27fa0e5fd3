"""P6: `tfod convert --runner beam` against the local runner: the same records, and what Beam costs locally.

Makes a CVAT for images 1.1 dataset (default 500 images of 320x240 with boxes and polygons, cached in
``bench/out/beam/``), then converts it to 4 TFRecord shards with PNG masks (``--masks all``), as whole processes:
tfodkit's local runner with 1 and 2 workers, and the Beam runner (FnApiRunner with 2 SDK worker processes, and
BundleBasedDirectRunner, Beam's Python DirectRunner). Checks that every Beam output holds exactly the local
output's records (as a multiset; Beam chooses which shard holds which) and the same label map.

    .venv-beam/bin/python bench/bench_beam.py [--images 500]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT  # noqa: E402
from _launch import wall_and_peak  # noqa: E402
from results import record  # noqa: E402

from tfodkit.records import read_records  # noqa: E402
from tfodkit.samples import make_cvat_dataset  # noqa: E402


def records_of(folder: Path) -> Counter[bytes]:
    found: Counter[bytes] = Counter()
    for path in sorted(folder.glob("*.tfrecord")):
        found.update(read_records(str(path)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    arguments = parser.parse_args()

    folder = OUT / "beam"
    source = folder / f"cvat_{arguments.images}" / "annotations.xml"
    if not source.exists():
        print(f"making {arguments.images} images in {source.parent} …", file=sys.stderr, flush=True)
        make_cvat_dataset(source.parent, images=arguments.images, size=(320, 240), boxes=(2, 6))
    tfod = [sys.executable, "-m", "tfodkit", "convert", str(source)]
    common = ["--from", "cvat", "--to", "tfrecord", "--shards", "4", "--masks", "all", "-q"]
    runs = {
        "tfodkit local, 1 worker": ["--workers", "1"],
        "tfodkit local, 2 workers": ["--workers", "2"],
        "Beam FnApiRunner, 2 workers": ["--runner", "beam", "--workers", "2"],
        "Beam BundleBasedDirectRunner": [
            "--runner",
            "beam",
            "--beam-option",
            "runner=BundleBasedDirectRunner",
            "--workers",
            "1",
        ],
    }
    rows = []
    outputs = {}
    for name, options in runs.items():
        target = folder / name.replace(" ", "_").replace(",", "")
        shutil.rmtree(target, ignore_errors=True)
        seconds, peak = wall_and_peak([*tfod, str(target / "all.tfrecord"), *common, *options])
        rows.append((name, seconds, peak))
        outputs[name] = target
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)

    reference = records_of(outputs["tfodkit local, 1 worker"])
    reference_map = (outputs["tfodkit local, 1 worker"] / "label_map.pbtxt").read_bytes()
    identical = {
        name: records_of(path) == reference and (path / "label_map.pbtxt").read_bytes() == reference_map
        for name, path in outputs.items()
    }
    base = rows[0][1]
    lines = [
        "| run | wall s | × 1 worker | peak RSS MB (main process) | records identical to local |",
        "|---|---:|---:|---:|---|",
    ]
    for name, seconds, rss in rows:
        lines.append(
            f"| {name} | {seconds:.2f} | {seconds / base:.2f} | {rss:.0f} | {'yes' if identical[name] else 'NO'} |"
        )
    table = "\n".join(lines)
    print(f"{arguments.images} CVAT images -> 4 TFRecord shards with PNG masks ({sum(reference.values())} records)\n")
    print(table)
    beam_ok = all(identical[name] for name in runs if name.startswith("Beam"))
    print(f"\nBeam outputs hold exactly the local records: {'yes' if beam_ok else 'NO'}")
    record(
        "P6",
        title=f"Beam runner vs local ({arguments.images} CVAT images -> 4 shards, masks)",
        result=f"records identical: {'yes' if beam_ok else 'NO'}; FnApiRunner {rows[2][1]:.1f} s vs local "
        f"{rows[1][1]:.1f} s (2 workers)",
        target="Beam output = local output (same records)",
        met=beam_ok,
        table=table,
        figures={name: seconds for name, seconds, _ in rows},
    )


if __name__ == "__main__":
    main()
