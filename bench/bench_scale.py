"""S1: big conversions beside the byte-work floor: 10,000 and 100,000 images, 1 vs 2 workers.

Makes 1,000 photo-like JPEGs (640x480, ~95 KB each) once and hard-links them under every image name of VOC,
CVAT XML and COCO datasets of each size (2-7 objects per image; COCO objects carry a polygon), then times whole
``tfod convert`` processes (compiled bytecode) of:

- ``voc -> tfrecord`` with images embedded;
- ``cvat -> cvat-tfrecord`` (the CVAT "TFRecord 1.0" zip) with images embedded;
- ``coco -> tfrecord`` with images and without (``--no-save-images``);
- ``coco -> tfrecord --masks polygons`` (polygons rasterized to PNG masks, no images);

each with ``--workers 1`` and ``--workers 2``, beside two references measured in the same run:

- the byte-work floor: one process reading every image of the dataset, SHA-256 and CRC-32C over it, writing it
  to one file (no annotation parsed, no record encoded);
- for COCO without images, a plain in-memory pass over the same JSON: ``json.load``, group the annotations by
  image, ``encode_example`` per image, write the framed records.

Wall time, CPU time (user + system of the process and its workers) and peak RSS come from ``wait4`` of each
process (``bench/_common.run_process``). The load average is printed beside the table: on a shared machine the
ratios of one run are what compare, not the seconds.

    .venv/bin/python bench/bench_scale.py [--images 10000,100000] [--cases voc,cvat,coco,coco-noimg,masks]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, run_process  # noqa: E402
from results import record  # noqa: E402

WIDTH, HEIGHT = 640, 480
LABELS = ("car", "person", "bicycle", "dog", "traffic light")
DISTINCT = 1000  # distinct JPEGs; every other image name is a hard link to one of them
SCALE = OUT / "scale"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

# One process, the bytes alone: read each image, SHA-256 and CRC-32C it, append it to one output file.
BYTES_PROBE = r"""
import hashlib, os, sys
import google_crc32c
names, target = sys.argv[1], sys.argv[2]
with open(names) as listing, open(target, "wb") as out:
    for path in listing.read().split("\n"):
        with open(path, "rb") as stream:
            data = stream.read()
        hashlib.sha256(data).hexdigest()
        google_crc32c.value(data)
        out.write(data)
"""

# The in-memory COCO pass the streaming reader is held to: the whole JSON in memory, no images.
IN_MEMORY_PROBE = r"""
import json, sys
from collections import defaultdict
import numpy as np
from tfodkit.example import encode_example
from tfodkit.records import write_record
source, target = sys.argv[1], sys.argv[2]
with open(source) as stream:
    document = json.load(stream)
names = {category["id"]: category["name"].encode() for category in document["categories"]}
by_image = defaultdict(list)
for annotation in document["annotations"]:
    by_image[annotation["image_id"]].append(annotation)
with open(target, "wb") as out:
    for image in document["images"]:
        width, height = image["width"], image["height"]
        annotations = by_image.get(image["id"], [])
        boxes = np.array([a["bbox"] for a in annotations], dtype=np.float64).reshape(-1, 4)
        labels = [a["category_id"] for a in annotations]
        name = image["file_name"].encode()
        write_record(out, encode_example({
            "image/filename": [name], "image/source_id": [str(image["id"]).encode()],
            "image/height": np.array([height], np.int64), "image/width": np.array([width], np.int64),
            "image/encoded": [b""], "image/format": [b""], "image/key/sha256": [b""],
            "image/object/bbox/xmin": (boxes[:, 0] / width).astype(np.float32),
            "image/object/bbox/ymin": (boxes[:, 1] / height).astype(np.float32),
            "image/object/bbox/xmax": ((boxes[:, 0] + boxes[:, 2]) / width).astype(np.float32),
            "image/object/bbox/ymax": ((boxes[:, 1] + boxes[:, 3]) / height).astype(np.float32),
            "image/object/class/label": np.array(labels, np.int64),
            "image/object/class/text": [names[label] for label in labels],
        }))
"""


# ------------------------------------------------------------------------------------------------ data
def jpegs() -> list[Path]:
    """The DISTINCT source JPEGs, made once."""
    from tfodkit.samples import make_jpeg

    folder = SCALE / "jpegs"
    done = folder / "complete"
    if not done.exists():
        print(f"making {DISTINCT} JPEGs …", file=sys.stderr, flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(DISTINCT):
            (folder / f"{index:04d}.jpg").write_bytes(make_jpeg(WIDTH, HEIGHT, index, quality=87))
        done.write_text("")
    return [folder / f"{index:04d}.jpg" for index in range(DISTINCT)]


def objects_of(index: int) -> list[tuple[int, list[float]]]:
    """(label index, [xmin, ymin, xmax, ymax]) of image ``index``: 2-7 objects, deterministic."""
    rng = np.random.default_rng(index)
    count = int(rng.integers(2, 8))
    corners = rng.uniform(0, 1, size=(count, 2)) * [WIDTH - 40, HEIGHT - 40]
    sizes = rng.uniform(0.05, 0.4, size=(count, 2)) * [WIDTH, HEIGHT]
    ends = np.minimum(corners + np.maximum(sizes, 8), [WIDTH, HEIGHT])
    boxes = np.round(np.concatenate([corners, ends], axis=1)).tolist()
    return [(int(rng.integers(0, len(LABELS))), box) for box in boxes]


def _link(sources: list[Path], folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        os.link(sources[index % len(sources)], folder / name)


def make_voc(root: Path, count: int, sources: list[Path]) -> Path:
    year = root / "VOC2007"
    (year / "Annotations").mkdir(parents=True)
    (year / "ImageSets" / "Main").mkdir(parents=True)
    ids = [f"{index:07d}" for index in range(count)]
    for index, item_id in enumerate(ids):
        objects = "".join(
            f"<object><name>{LABELS[label]}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>0</difficult><bndbox><xmin>{box[0] + 1:.0f}</xmin><ymin>{box[1] + 1:.0f}</ymin>"
            f"<xmax>{box[2]:.0f}</xmax><ymax>{box[3]:.0f}</ymax></bndbox></object>"
            for label, box in objects_of(index)
        )
        (year / "Annotations" / f"{item_id}.xml").write_text(
            f"<annotation><folder>VOC2007</folder><filename>{item_id}.jpg</filename><size><width>{WIDTH}</width>"
            f"<height>{HEIGHT}</height><depth>3</depth></size><segmented>0</segmented>{objects}</annotation>"
        )
    (year / "ImageSets" / "Main" / "trainval.txt").write_text("".join(f"{item_id}\n" for item_id in ids))
    _link(sources, year / "JPEGImages", [f"{item_id}.jpg" for item_id in ids])
    return year


def make_cvat(root: Path, count: int, sources: list[Path]) -> Path:
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
                f'<box label="{LABELS[label]}" occluded="0" xtl="{box[0]:.2f}" ytl="{box[1]:.2f}" '
                f'xbr="{box[2]:.2f}" ybr="{box[3]:.2f}" z_order="0"></box>'
                for label, box in objects_of(index)
            )
            out.write(f'<image id="{index}" name="{name}" width="{WIDTH}" height="{HEIGHT}">{boxes}</image>\n')
        out.write("</annotations>\n")
    _link(sources, root / "images", names)
    return root / "annotations.xml"


def make_coco(root: Path, count: int, sources: list[Path]) -> Path:
    """COCO instances, each object a polygon (a hexagon in its box) with its bbox; images in images/default."""
    (root / "annotations").mkdir(parents=True)
    names = [f"{index:07d}.jpg" for index in range(count)]
    with open(root / "annotations" / "instances_default.json", "w") as out:
        out.write('{"categories": ' + json.dumps([{"id": i + 1, "name": n} for i, n in enumerate(LABELS)]))
        out.write(', "images": [')
        out.write(
            ",".join(
                json.dumps({"id": i + 1, "file_name": n, "width": WIDTH, "height": HEIGHT}) for i, n in enumerate(names)
            )
        )
        out.write('], "annotations": [')
        next_id = 1
        for index in range(count):
            parts = []
            for label, (x0, y0, x1, y1) in objects_of(index):
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                polygon = [mx, y0, x1, my - (y1 - y0) / 4, x1, my + (y1 - y0) / 4, mx, y1, x0, my, x0, y0]
                parts.append(
                    json.dumps(
                        {
                            "id": next_id,
                            "image_id": index + 1,
                            "category_id": label + 1,
                            "iscrowd": 0,
                            "bbox": [x0, y0, x1 - x0, y1 - y0],
                            "area": float((x1 - x0) * (y1 - y0)),
                            "segmentation": [polygon],
                        }
                    )
                )
                next_id += 1
            out.write(("," if index else "") + ",".join(parts))
        out.write("]}")
    _link(sources, root / "images" / "default", names)
    return root


MAKERS = {"voc": make_voc, "cvat": make_cvat, "coco": make_coco}


def dataset(kind: str, count: int) -> Path:
    """The ``kind`` dataset of ``count`` images (made once; a partial one from a killed run is made again)."""
    root = SCALE / f"{kind}_{count}"
    done = root / "complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"making {kind} with {count} images …", file=sys.stderr, flush=True)
        done.parent.mkdir(parents=True, exist_ok=True)
        done_source = MAKERS[kind](root / "data", count, jpegs())
        done.write_text(str(done_source))
    return Path(done.read_text())


def image_list(kind: str, count: int, source: Path) -> Path:
    """A file listing the dataset's image paths in item order (the floor probe reads them)."""
    folder = {"voc": source / "JPEGImages", "cvat": source.parent / "images", "coco": source / "images" / "default"}
    listing = SCALE / f"{kind}_{count}" / "images.txt"
    if not listing.exists():
        listing.write_text("\n".join(str(folder[kind] / f"{index:07d}.jpg") for index in range(count)))
    return listing


# ------------------------------------------------------------------------------------------------ cases
# case -> (dataset kind, convert arguments after SOURCE TARGET, output name)
CASES: dict[str, tuple[str, list[str], str]] = {
    "voc": ("voc", ["--from", "voc", "--to", "tfrecord"], "out.tfrecord"),
    "cvat": ("cvat", ["--from", "cvat", "--to", "cvat-tfrecord", "--save-images"], "out.zip"),
    "coco": ("coco", ["--from", "coco", "--to", "tfrecord"], "out.tfrecord"),
    "coco-noimg": ("coco", ["--from", "coco", "--to", "tfrecord", "--no-save-images"], "out.tfrecord"),
    "masks": (
        "coco",
        ["--from", "coco", "--to", "tfrecord", "--no-save-images", "--masks", "polygons"],
        "out.tfrecord",
    ),
}
TITLES = {
    "voc": "VOC -> TFRecord, images embedded",
    "cvat": "CVAT XML -> CVAT zip, images embedded",
    "coco": "COCO -> TFRecord, images embedded",
    "coco-noimg": "COCO -> TFRecord, no images",
    "masks": "COCO polygons -> PNG masks, no images",
}


def convert_command(case: str, source: Path, work: Path, workers: int) -> tuple[list[str], Path]:
    kind, arguments, output = CASES[case]
    target = work / output
    command = [sys.executable, "-m", "tfodkit", "convert", str(source), str(target), *arguments]
    return [*command, "--workers", str(workers), "--overwrite", "-q"], target


def measure(command: list[str], runs: int) -> tuple[float, float, float]:
    """(wall, CPU, peak RSS MB) of the fastest of ``runs`` runs (a repeated run replaces its output)."""
    best = min((run_process(command, env=ENV)[:3] for _ in range(runs)), key=lambda row: row[0])
    return best[0], best[1], best[2]


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="10000,100000", help="comma-separated image counts")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--runs", type=int, default=1, help="runs of each process; the fastest counts")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.images.split(",")]
    cases = [case for case in arguments.cases.split(",") if case]
    worker_counts = [int(count) for count in arguments.workers.split(",")]

    # Timed processes run compiled bytecode, as an installed package does.
    import subprocess

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "tfodkit")], check=True)
    work = SCALE / "work"
    lines = [
        "| case | images | run | wall s | × floor (wall) | CPU s | × floor (CPU) | peak RSS MB | load |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    figures: dict[str, float] = {}
    for count in sizes:
        floors: dict[str, tuple[float, float, float]] = {}
        for case in cases:
            kind = CASES[case][0]
            source = dataset(kind, count)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            if case == "coco-noimg":
                reference_name = "in-memory pass (json.load + group + encode + write)"
                json_path = source / "annotations" / "instances_default.json"
                reference = measure([sys.executable, "-c", IN_MEMORY_PROBE, str(json_path), str(work / "mem")], 1)
            elif case == "masks":
                reference_name, reference = "", None
            else:
                reference_name = "byte-work floor (read, SHA-256, CRC-32C, write; 1 process)"
                if kind not in floors:
                    listing = image_list(kind, count, source)
                    floors[kind] = measure([sys.executable, "-c", BYTES_PROBE, str(listing), str(work / "floor")], 1)
                reference = floors[kind]
            rows = []
            for workers in worker_counts:
                command, target = convert_command(case, source, work, workers)
                # A fresh target each run: renaming over the last run's 930 MB file makes ext4 flush it first
                # (0.5 s, seen in a profile), which would be charged to the second run.
                target.unlink(missing_ok=True)
                rows.append((f"tfod, {workers} worker{'s' * (workers > 1)}", *measure(command, arguments.runs)))
                figures[f"{case} @ {count} w{workers}"] = rows[-1][1]
            base = reference if reference is not None else rows[0][1:]
            if reference is not None:
                rows.insert(0, (reference_name, *reference))
                figures[f"{case} @ {count} reference"] = reference[0]
            for name, wall, cpu, rss in rows:
                lines.append(
                    f"| {TITLES[case]} | {count:,} | {name} | {wall:.2f} | {wall / base[0]:.2f} | {cpu:.2f} | "
                    f"{cpu / base[1]:.2f} | {rss:.0f} | {load()} |"
                )
            print(lines[-1], file=sys.stderr, flush=True)
            shutil.rmtree(work, ignore_errors=True)
    table = "\n".join(lines)
    print("Whole processes; × floor: against the first row of each case (the masks case: against 1 worker)\n")
    print(table)
    top = sizes[0]
    parts = []
    met: list[bool] = []  # each target the run could judge
    for case in ("voc", "cvat"):
        walls = [figures.get(f"{case} @ {top} w{w}") for w in worker_counts]
        reference = figures.get(f"{case} @ {top} reference")
        if reference and all(walls):
            ratio = min(w for w in walls if w) / reference
            parts.append(f"{case} {ratio:.2f}× floor")
            met.append(ratio <= 1.1)
    if figures.get(f"masks @ {top} w1") and figures.get(f"masks @ {top} w2"):
        speedup = figures[f"masks @ {top} w1"] / figures[f"masks @ {top} w2"]
        parts.append(f"masks 2 vs 1 worker {speedup:.2f}×")
        met.append(speedup >= 1.85)
    if figures.get(f"coco-noimg @ {top} reference") and figures.get(f"coco-noimg @ {top} w1"):
        ratio = figures[f"coco-noimg @ {top} w1"] / figures[f"coco-noimg @ {top} reference"]
        parts.append(f"COCO no images {ratio:.2f}× in-memory")
        met.append(ratio <= 1.0)
    record(
        "S1",
        title=f"Scale: {', '.join(f'{size:,}' for size in sizes)} images vs the byte-work floor",
        result="; ".join(parts) + f" at {top:,} images (load {load()})",
        target="VOC/CVAT <= 1.1x floor; masks 2 workers >= 1.85x; COCO <= 1.0x in-memory",
        met=all(met) if met else None,
        table=table,
        figures=figures,
    )


if __name__ == "__main__":
    main()
