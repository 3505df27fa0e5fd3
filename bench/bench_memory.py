"""P4: peak memory does not grow with the dataset: VOC / COCO / CVAT -> TFRecord and back, 1k vs 100k images.

Each conversion is one whole `tfod convert` process (``python -m tfodkit``); its peak RSS is its own
``ru_maxrss`` from ``wait4``, taken by a small launcher process (``bench/_launch.py``). Images are one tiny JPEG
(32x24) hard-linked under every name, three boxes each: what is measured is the memory of the pipeline
(readers, transforms, writers), not image throughput. The datasets are generated once into
``bench/out/memory/`` (git-ignored); ``--workers`` defaults to 1 (one process holds the whole pipeline; more
workers add a fixed number of pool processes, each bounded).

    .venv/bin/python bench/bench_memory.py [--sizes 1000,100000] [--workers 1]

Target (issue 7): peak RSS at 100k images <= 150 MB and within 10 % of the 1k figure, for every conversion.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT  # noqa: E402
from _launch import wall_and_peak  # noqa: E402
from results import record  # noqa: E402

from tfodkit.samples import make_jpeg  # noqa: E402

LABELS = ("car", "person", "dog")
WIDTH, HEIGHT = 32, 24
BOXES = ((1, 2, 12, 10), (8, 6, 30, 22), (0, 0, 5, 5))
LIMIT_MB = 150.0
GROWTH = 0.10


def _link_images(folder: Path, names: list[str], jpeg: Path) -> None:
    """Every name a hard link to one copy of ``jpeg`` (a fresh copy per 50,000 links: file systems cap links)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        if index % 50_000 == 0:
            source = folder / f".tiny_{index}.jpg"
            shutil.copyfile(jpeg, source)
        os.link(source, folder / name)
    for index in range(0, len(names), 50_000):
        (folder / f".tiny_{index}.jpg").unlink()


def make_voc(root: Path, count: int, jpeg: Path) -> Path:
    year = root / "VOC2007"
    (year / "Annotations").mkdir(parents=True)
    (year / "ImageSets" / "Main").mkdir(parents=True)
    ids = [f"{index:07d}" for index in range(count)]
    for index, item_id in enumerate(ids):
        objects = "".join(
            f"<object><name>{LABELS[(index + k) % 3]}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>0</difficult><bndbox><xmin>{box[0] + 1}</xmin><ymin>{box[1] + 1}</ymin>"
            f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>"
            for k, box in enumerate(BOXES)
        )
        (year / "Annotations" / f"{item_id}.xml").write_text(
            f"<annotation><folder>VOC2007</folder><filename>{item_id}.jpg</filename><size><width>{WIDTH}</width>"
            f"<height>{HEIGHT}</height><depth>3</depth></size><segmented>0</segmented>{objects}</annotation>"
        )
    (year / "ImageSets" / "Main" / "trainval.txt").write_text("".join(f"{item_id}\n" for item_id in ids))
    _link_images(year / "JPEGImages", [f"{item_id}.jpg" for item_id in ids], jpeg)
    return year


def make_coco(root: Path, count: int, jpeg: Path) -> Path:
    (root / "annotations").mkdir(parents=True)
    names = [f"{index:07d}.jpg" for index in range(count)]
    with open(root / "annotations" / "instances_train.json", "w") as out:
        out.write('{"categories": ' + json.dumps([{"id": i + 1, "name": n} for i, n in enumerate(LABELS)]))
        out.write(', "images": [')
        out.write(
            ",".join(
                json.dumps({"id": i + 1, "file_name": n, "width": WIDTH, "height": HEIGHT}) for i, n in enumerate(names)
            )
        )
        out.write('], "annotations": [')
        annotations = (
            json.dumps(
                {
                    "id": i * 3 + k + 1,
                    "image_id": i + 1,
                    "category_id": (i + k) % 3 + 1,
                    "iscrowd": 0,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "area": float((box[2] - box[0]) * (box[3] - box[1])),
                }
            )
            for i in range(count)
            for k, box in enumerate(BOXES)
        )
        out.write(",".join(annotations))
        out.write("]}")
    _link_images(root / "images" / "train", names, jpeg)
    return root


def make_cvat(root: Path, count: int, jpeg: Path) -> Path:
    names = [f"{index:07d}.jpg" for index in range(count)]
    root.mkdir(parents=True)
    with open(root / "annotations.xml", "w") as out:
        labels = "".join(f"<label><name>{name}</name><attributes/></label>" for name in LABELS)
        out.write(
            f'<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task>'
            f"<name>bench</name><labels>{labels}</labels></task></meta>\n"
        )
        for index, name in enumerate(names):
            boxes = "".join(
                f'<box label="{LABELS[(index + k) % 3]}" occluded="0" xtl="{box[0]}" ytl="{box[1]}" xbr="{box[2]}" '
                f'ybr="{box[3]}" z_order="0"></box>'
                for k, box in enumerate(BOXES)
            )
            out.write(f'<image id="{index}" name="{name}" width="{WIDTH}" height="{HEIGHT}">{boxes}</image>\n')
        out.write("</annotations>\n")
    _link_images(root / "images", names, jpeg)
    return root / "annotations.xml"


MAKERS = {"voc": make_voc, "coco": make_coco, "cvat": make_cvat}


def dataset(kind: str, count: int, folder: Path, jpeg: Path) -> Path:
    root = folder / f"{kind}_{count}"
    done = root / "complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"making {kind} with {count} images …", file=sys.stderr, flush=True)
        source = MAKERS[kind](root / "data", count, jpeg)
        done.write_text(str(source))
    return Path(done.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated image counts (first = baseline)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--formats", default="voc,coco,cvat")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    formats = arguments.formats.split(",")

    folder = OUT / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = folder / "tiny.jpg"
    jpeg.write_bytes(make_jpeg(WIDTH, HEIGHT, 0))
    tfod = [sys.executable, "-m", "tfodkit"]
    peaks: dict[tuple[str, int], tuple[float, float]] = {}
    for count in sizes:
        for kind in formats:
            source = dataset(kind, count, folder, jpeg)
            work = folder / f"run_{kind}_{count}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            records = work / "data.tfrecord"
            common = ["--workers", str(arguments.workers), "-q"]
            peaks[(f"{kind} -> tfrecord", count)] = wall_and_peak(
                [*tfod, "convert", str(source), str(records), "--from", kind, "--to", "tfrecord", *common]
            )
            peaks[(f"tfrecord -> {kind}", count)] = wall_and_peak(
                [
                    *tfod,
                    "convert",
                    str(records),
                    str(work / f"back_{kind}"),
                    "--from",
                    "tfrecord",
                    "--to",
                    kind,
                    *common,
                ]
            )
            for direction in (f"{kind} -> tfrecord", f"tfrecord -> {kind}"):
                seconds, rss = peaks[(direction, count)]
                print(
                    f"  {direction:18} {count:>7} images: {seconds:7.1f} s, peak {rss:6.1f} MB",
                    file=sys.stderr,
                    flush=True,
                )
            shutil.rmtree(work, ignore_errors=True)

    base, top = sizes[0], sizes[-1]
    header = (
        "| conversion | "
        + " | ".join(f"{count:,} images: s / peak MB" for count in sizes)
        + f" | {top:,} vs {base:,} |"
    )
    lines = [header, "|---|" + "---:|" * (len(sizes) + 1)]
    worst_peak, worst_growth, all_met = 0.0, -1.0, True
    for kind in formats:
        for direction in (f"{kind} -> tfrecord", f"tfrecord -> {kind}"):
            cells = [f"{peaks[(direction, count)][0]:.1f} / {peaks[(direction, count)][1]:.0f}" for count in sizes]
            growth = peaks[(direction, top)][1] / peaks[(direction, base)][1] - 1
            met = peaks[(direction, top)][1] <= LIMIT_MB and growth <= GROWTH
            all_met &= met
            worst_peak = max(worst_peak, peaks[(direction, top)][1])
            worst_growth = max(worst_growth, growth)
            lines.append(f"| {direction} | " + " | ".join(cells) + f" | {growth * 100:+.1f} %{'' if met else ' ✗'} |")
    table = "\n".join(lines)
    print(f"Peak RSS of whole `tfod convert` processes (--workers {arguments.workers}), tiny images, 3 boxes each\n")
    print(table)
    print(
        f"\nworst peak at {top:,}: {worst_peak:.0f} MB (target <= {LIMIT_MB:.0f}); "
        f"worst growth {worst_growth * 100:+.1f} % (target <= {GROWTH * 100:.0f} %): {'met' if all_met else 'NOT met'}"
    )
    record(
        "P4",
        title=f"Peak RSS, {base:,} -> {top:,} images (VOC/COCO/CVAT <-> TFRecord)",
        result=f"worst {worst_peak:.0f} MB at {top:,}, worst growth {worst_growth * 100:+.1f} %",
        target=f"<= {LIMIT_MB:.0f} MB and <= +{GROWTH * 100:.0f} %",
        met=all_met,
        table=table,
        figures={f"{direction} @ {count}": peaks[(direction, count)][1] for direction, count in peaks},
    )


if __name__ == "__main__":
    main()
