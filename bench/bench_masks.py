"""COCO polygons -> TFRecord with PNG instance masks: tfodkit's one command vs Datumaro's three-step flow.

Generates (once, cached in bench/out/masks/) 1,000 COCO images of 640x480 (~95 KB JPEG each) with ~4.5
polygons per image and their instances JSON, then times WHOLE PROCESSES side by side:

- tfodkit: ``tfod convert coco/ out/ --from coco --to tfrecord --masks all --workers N`` (N = 1 and 2), in
  .venv (no TensorFlow);
- Datumaro 1.13.12 (the engine of CVAT's TFRecord format): import ``coco_instances``, transform
  ``polygons_to_masks`` and ``boxes_to_masks``, export ``tf_detection_api`` with ``save_media`` and
  ``save_masks`` — in one Python process (its fastest form; the seed ran three ``datum`` commands), in
  .venv-interop.

Reported per run: wall seconds, CPU seconds of all its processes (wait4), the main process's CPU (tfodkit),
peak RSS. Then every mask of every output is checked against pycocotools (frPyObjects -> decode of the COCO
polygon): minimum IoU and the count of exactly equal masks. (Datumaro's masks turn out to be the COCO boxes:
its COCO importer gives each annotation a polygon and a bbox in one group, boxes_to_masks makes the bbox a
mask, and its TF exporter merges a group's masks — the script counts how many equal the box raster.) Last, a
per-mask table: rasterize + PNG-encode, tfodkit vs pycocotools decode + Pillow, vs Pillow's ImageDraw.

Run: .venv-interop/bin/python bench/bench_masks.py [--images 1000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "masks"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
WIDTH, HEIGHT = 640, 480
JPEG_QUALITY = 87  # make_jpeg's photo-like 640x480 images: ~95 KB each
CATEGORIES = ["person", "car", "dog", "bicycle", "traffic light"]

DATUMARO_SCRIPT = """
import sys
from datumaro.components.dataset import Dataset
source, target = sys.argv[1], sys.argv[2]
dataset = Dataset.import_from(source, "coco_instances")
dataset = dataset.transform("polygons_to_masks")
dataset = dataset.transform("boxes_to_masks")
dataset.export(target, "tf_detection_api", save_media=True, save_masks=True)
"""


# --------------------------------------------------------------------------------------------- data
def star_polygon(rng: np.random.Generator) -> np.ndarray:
    radius = float(rng.uniform(15, 160))
    points = int(rng.integers(8, 32))
    angles = np.sort(rng.uniform(0, 2 * np.pi, points))
    radii = radius * rng.uniform(0.55, 1.0, points)
    centre = rng.uniform([radius, radius], [WIDTH - radius, HEIGHT - radius])
    polygon = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)
    return np.round(polygon, 2)


def make_coco(folder: Path, images: int) -> dict[str, float]:
    """COCO instances with one polygon per object, 3-6 objects per image; cached by a stamp file."""
    stamp = folder / "stamp.json"
    wanted = {"images": images, "quality": JPEG_QUALITY, "version": 2}
    if stamp.is_file() and json.loads(stamp.read_text()).get("wanted") == wanted:
        return json.loads(stamp.read_text())["stats"]
    from tfodkit.samples import make_jpeg

    shutil.rmtree(folder, ignore_errors=True)
    image_dir = folder / "images" / "default"
    image_dir.mkdir(parents=True)
    (folder / "annotations").mkdir()
    rng = np.random.default_rng(2024)
    document: dict[str, list] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": index + 1, "name": name, "supercategory": ""} for index, name in enumerate(CATEGORIES)],
    }
    jpeg_bytes = 0
    for image_id in range(1, images + 1):
        name = f"{image_id:06d}.jpg"
        encoded = make_jpeg(WIDTH, HEIGHT, image_id, quality=JPEG_QUALITY)
        jpeg_bytes += len(encoded)
        (image_dir / name).write_bytes(encoded)
        document["images"].append({"id": image_id, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for _ in range(int(rng.integers(3, 7))):
            polygon = star_polygon(rng)
            x0, y0 = polygon.min(axis=0)
            x1, y1 = polygon.max(axis=0)
            document["annotations"].append(
                {
                    "id": len(document["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": int(rng.integers(1, len(CATEGORIES) + 1)),
                    "segmentation": [polygon.reshape(-1).tolist()],
                    "area": float(
                        0.5
                        * abs(
                            np.dot(polygon[:, 0], np.roll(polygon[:, 1], 1))
                            - np.dot(polygon[:, 1], np.roll(polygon[:, 0], 1))
                        )
                    ),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "iscrowd": 0,
                }
            )
    (folder / "annotations" / "instances_default.json").write_text(json.dumps(document))
    stats = {"images": images, "polygons": len(document["annotations"]), "mean_jpeg_kb": jpeg_bytes / images / 1000}
    stamp.write_text(json.dumps({"wanted": wanted, "stats": stats}))
    return stats


# --------------------------------------------------------------------------------------------- runs
# Runs the command and, at its exit, prints its own CPU seconds and its children's (tfodkit's workers) to a file.
CPU_PROBE = """
import atexit, resource, runpy, sys
report, module = sys.argv[1], sys.argv[2]
def write():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(report, "w") as out:
        out.write(f"{own.ru_utime + own.ru_stime} {children.ru_utime + children.ru_stime}")
atexit.register(write)
sys.argv = [module, *sys.argv[3:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


class Run:
    """One whole-process run: wall seconds, CPU seconds (all processes), main-process CPU, peak RSS (MB)."""

    def __init__(self, wall: float, cpu: float, main_cpu: float | None, peak_mb: float) -> None:
        self.wall, self.cpu, self.main_cpu, self.peak_mb = wall, cpu, main_cpu, peak_mb


def run_process(command: list[str], output: Path, report: Path | None = None) -> Run:
    """Run ``command`` to the end; wall time, and CPU / peak RSS of it and its children from wait4()."""
    shutil.rmtree(output, ignore_errors=True)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    started = time.perf_counter()
    with open(OUT / "last_run.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{(OUT / 'last_run.log').read_text()[-3000:]}")
    main_cpu = None
    if report is not None and report.is_file():
        main_cpu = float(report.read_text().split()[0])
    # On Linux, wait4's usage covers the child and the descendants it waited for (tfodkit's workers).
    return Run(wall, usage.ru_utime + usage.ru_stime, main_cpu, usage.ru_maxrss / 1024)


# The part of a run that no number of workers splits: start the interpreter, import the CLI, read the COCO
# annotations up to the first item (the annotation index is complete before it).
SERIAL_PROBE = r"""
import sys
import tfodkit.cli
from tfodkit.pipeline import read_dataset
next(iter(read_dataset(sys.argv[1], "coco")))
"""


def serial_seconds(source: Path) -> float:
    """The fastest of 3 runs of SERIAL_PROBE (whole process, wall)."""
    return min(
        run_process([str(VENV_PYTHON), "-c", SERIAL_PROBE, str(source)], OUT / "serial_probe").wall for _ in range(3)
    )


def tfodkit_command(source: Path, target: Path, workers: int, report: Path) -> list[str]:
    return [
        str(VENV_PYTHON),
        "-c",
        CPU_PROBE,
        str(report),
        "tfodkit",
        "convert",
        str(source),
        str(target),
        "--from",
        "coco",
        "--to",
        "tfrecord",
        "--masks",
        "all",
        "--workers",
        str(workers),
        "--quiet",
    ]


def datumaro_command(source: Path, target: Path) -> list[str]:
    return [str(INTEROP_PYTHON), "-c", DATUMARO_SCRIPT, str(source), str(target)]


# --------------------------------------------------------------------------------------------- checks
def reference_masks(coco_folder: Path) -> dict[str, list[np.ndarray]]:
    """pycocotools' masks per image file, in annotation order."""
    from pycocotools import mask as coco_mask

    document = json.loads((coco_folder / "annotations" / "instances_default.json").read_text())
    names = {image["id"]: image["file_name"] for image in document["images"]}
    masks: dict[str, list[np.ndarray]] = {}
    for annotation in document["annotations"]:
        rles = coco_mask.frPyObjects(annotation["segmentation"], HEIGHT, WIDTH)
        masks.setdefault(names[annotation["image_id"]], []).append(coco_mask.decode(coco_mask.merge(rles)) > 0)
    return masks


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def check_output(record_file: Path, reference: dict[str, list[np.ndarray]]) -> tuple[int, float, int, int]:
    """(masks checked, minimum IoU vs pycocotools, exactly equal masks, records) of a TFRecord with PNG masks."""
    from tfodkit.example import decode_example
    from tfodkit.model import decode_png_mask
    from tfodkit.records import read_records

    checked = exact = records = 0
    worst = 1.0
    for raw in read_records(str(record_file)):
        records += 1
        features = decode_example(raw)
        name = features["image/filename"][0].decode()
        expected = reference.get(name, [])
        pngs = features.get("image/object/mask", [])
        if len(pngs) != len(expected):
            raise SystemExit(f"{record_file}: {name}: {len(pngs)} masks for {len(expected)} polygons")
        # Datumaro may reorder objects; match each reference mask to its best decoded mask.
        decoded = [decode_png_mask(png) for png in pngs]
        for wanted in expected:
            scores = [iou(wanted, mask) for mask in decoded]
            best = int(np.argmax(scores))
            worst = min(worst, scores[best])
            exact += int(np.array_equal(wanted, decoded[best]))
            decoded.pop(best)
            checked += 1
    return checked, worst, exact, records


def datumaro_box_masks(record_file: Path, coco_folder: Path) -> tuple[int, int]:
    """How many of Datumaro's masks are exactly the pycocotools raster of the annotation's COCO bbox."""
    from tfodkit.example import decode_example
    from tfodkit.masks.raster import box_to_array
    from tfodkit.model import decode_png_mask
    from tfodkit.records import read_records

    document = json.loads((coco_folder / "annotations" / "instances_default.json").read_text())
    names = {image["id"]: image["file_name"] for image in document["images"]}
    boxes: dict[str, list[np.ndarray]] = {}
    for annotation in document["annotations"]:
        x, y, w, h = annotation["bbox"]
        boxes.setdefault(names[annotation["image_id"]], []).append(box_to_array([x, y, x + w, y + h], HEIGHT, WIDTH))
    equal = total = 0
    for raw in read_records(str(record_file)):
        features = decode_example(raw)
        expected = boxes.get(features["image/filename"][0].decode(), [])
        for png in features.get("image/object/mask", []):
            total += 1
            equal += any(np.array_equal(decode_png_mask(png), box) for box in expected)
    return equal, total


# --------------------------------------------------------------------------------------------- per mask
def per_mask_table(coco_folder: Path, count: int = 400) -> None:
    from PIL import Image, ImageDraw
    from pycocotools import mask as coco_mask

    from tfodkit.masks.raster import source_png

    document = json.loads((coco_folder / "annotations" / "instances_default.json").read_text())
    annotations = document["annotations"][:count]
    polygons = [np.array(annotation["segmentation"][0]).reshape(-1, 2) for annotation in annotations]

    def pycocotools_pillow(polygon: np.ndarray) -> bytes:
        rle = coco_mask.frPyObjects([polygon.reshape(-1).tolist()], HEIGHT, WIDTH)[0]
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(coco_mask.decode(rle)), mode="L").save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def pillow_draw(polygon: np.ndarray) -> np.ndarray:
        image = Image.new("L", (WIDTH, HEIGHT), 0)
        ImageDraw.Draw(image).polygon([tuple(point) for point in polygon.tolist()], fill=1)
        return np.asarray(image) > 0

    def pillow_draw_png(polygon: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(pillow_draw(polygon).view(np.uint8), mode="L").save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def tfodkit_png(polygon: np.ndarray) -> bytes:
        return source_png(("polygons", [polygon], HEIGHT, WIDTH))

    paths = [
        ("pycocotools decode + Pillow PNG (L, 1)", pycocotools_pillow),
        ("Pillow ImageDraw.polygon + PNG (L, 1)", pillow_draw_png),
        ("tfodkit (pycocotools RLE -> PNG rows)", tfodkit_png),
    ]
    timings = {}
    for _ in range(3):  # interleaved, best of three: other load on the machine hits every path alike
        for name, function in paths:
            started = time.process_time()  # CPU time: less sensitive to other load than wall time
            for polygon in polygons:
                function(polygon)
            elapsed = (time.process_time() - started) / len(polygons) * 1e3
            timings[name] = min(timings.get(name, elapsed), elapsed)
    reference = [
        coco_mask.decode(coco_mask.frPyObjects([p.reshape(-1).tolist()], HEIGHT, WIDTH))[:, :, 0] > 0 for p in polygons
    ]
    pillow_ious = [iou(pillow_draw(p), r) for p, r in zip(polygons, reference, strict=True)]
    print(f"\nPer mask, {len(polygons)} COCO polygons on {WIDTH}x{HEIGHT} (rasterize + PNG, CPU ms, best of 3):")
    base = timings[paths[0][0]]
    for name, _ in paths:
        print(f"  {name:42} {timings[name]:7.3f} ms  {base / timings[name]:5.1f}x")
    print(
        f"  Pillow ImageDraw vs pycocotools: IoU min {min(pillow_ious):.4f}, mean {np.mean(pillow_ious):.4f}, "
        f"{sum(i == 1.0 for i in pillow_ious)}/{len(pillow_ious)} identical -> not used"
    )


# --------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration; the best is reported")
    parser.add_argument("--skip-datumaro", action="store_true")
    arguments = parser.parse_args()

    coco = OUT / f"coco_{arguments.images}"
    stats = make_coco(coco, arguments.images)
    print(
        f"data: {stats['images']} images {WIDTH}x{HEIGHT}, {stats['polygons']} polygons "
        f"({stats['polygons'] / stats['images']:.2f} per image), JPEG {stats['mean_jpeg_kb']:.1f} KB on average; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )

    reports = {workers: OUT / f"cpu_w{workers}.txt" for workers in (1, 2)}
    runs = [
        (
            f"tfodkit --workers {workers}",
            tfodkit_command(coco, OUT / f"tfodkit_w{workers}", workers, reports[workers]),
            OUT / f"tfodkit_w{workers}",
            reports[workers],
        )
        for workers in (1, 2)
    ]
    if not arguments.skip_datumaro:
        runs.append(("Datumaro 3-step (1 process)", datumaro_command(coco, OUT / "datumaro"), OUT / "datumaro", None))
    results: dict[str, Run] = {}
    for _ in range(arguments.repeat):  # interleaved repeats; the fastest run of each is kept
        for name, command, output, report in runs:
            run = run_process(command, output, report)
            if name not in results or run.wall < results[name].wall:
                results[name] = run

    reference = reference_masks(coco)
    datumaro = results.get("Datumaro 3-step (1 process)")
    print(
        f"\n{'run':28} {'wall s':>7} {'CPU s':>6} {'main CPU':>8} {'peak MB':>7} {'wall vs D':>9} {'CPU vs D':>8} "
        f"{'masks':>6} {'min IoU':>7} {'exact':>6} {'out MB':>7}"
    )
    table = [
        "| run | wall s | CPU s | peak MB | wall vs Datumaro | masks | min IoU vs pycocotools | identical |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst_tfodkit = 1.0
    for name, _, output, _ in runs:
        run = results[name]
        checked, worst, exact, records = check_output(output / "default.tfrecord", reference)
        if records != stats["images"]:
            raise SystemExit(f"{name}: {records} records for {stats['images']} images")
        size_mb = sum(path.stat().st_size for path in output.iterdir()) / 1e6
        wall_ratio = run.wall / datumaro.wall if datumaro else float("nan")
        cpu_ratio = run.cpu / datumaro.cpu if datumaro else float("nan")
        main_cpu = f"{run.main_cpu:8.2f}" if run.main_cpu is not None else f"{'':8}"
        print(
            f"{name:28} {run.wall:7.2f} {run.cpu:6.2f} {main_cpu} {run.peak_mb:7.0f} {wall_ratio:9.3f} "
            f"{cpu_ratio:8.3f} {checked:6d} {worst:7.4f} {exact:6d} {size_mb:7.1f}"
        )
        table.append(
            f"| {name} | {run.wall:.2f} | {run.cpu:.2f} | {run.peak_mb:.0f} | {wall_ratio:.3f} | {checked} | "
            f"{worst:.4f} | {exact} |"
        )
        if name.startswith("tfodkit"):
            worst_tfodkit = min(worst_tfodkit, worst)
    one, two = results["tfodkit --workers 1"], results["tfodkit --workers 2"]
    print(
        f"\ntfodkit, 2 workers vs 1: {one.wall / two.wall:.2f}x faster (wall; target >= 1.8 on an idle 2-core "
        f"machine; load average now {os.getloadavg()[0]:.1f})"
    )
    if datumaro:
        print(
            f"tfodkit (2 workers) / Datumaro: {two.wall / datumaro.wall:.3f} of its wall time "
            f"({datumaro.wall / two.wall:.1f}x faster), {two.cpu / datumaro.cpu:.3f} of its CPU time; "
            "target <= 0.125"
        )
        boxes = datumaro_box_masks(OUT / "datumaro" / "default.tfrecord", coco)
        print(
            f"Datumaro's masks equal to the COCO bbox rasterized as a box: {boxes[0]}/{boxes[1]} — it imports each "
            f"COCO annotation as a polygon AND a box of one group, boxes_to_masks turns the box into a mask, and "
            f"its exporter merges a group's masks: the polygon is lost inside its box."
        )
    load = os.getloadavg()[0]
    speedup = one.wall / two.wall
    serial = serial_seconds(coco)
    ceiling = one.wall / (serial + (one.wall - serial) / 2)  # Amdahl: only the rest splits over 2 workers
    print(
        f"serial part (start, imports, COCO index up to the first item): {serial:.2f} s of {one.wall:.2f} s; "
        f"with 2 workers and no overhead at all the run could be at most {ceiling:.2f}x faster"
    )
    record(
        "P5",
        title="2 workers vs 1 worker, mask case",
        result=f"{speedup:.2f}x (load average {load:.1f}); ceiling {ceiling:.2f}x: {serial:.2f} s of the "
        f"{one.wall:.2f} s run is serial",
        target=">= 1.8x",
        met=speedup >= 1.8,
        table="\n".join(table),
    )
    if datumaro:
        ratio = two.wall / datumaro.wall
        record(
            "P3",
            title=f"COCO polygons -> TFRecord + PNG masks, {stats['images']:,} images, vs Datumaro",
            result=f"{two.wall:.2f} s vs {datumaro.wall:.2f} s = {ratio:.3f} of Datumaro ({1 / ratio:.1f}x faster), "
            f"{datumaro.peak_mb / two.peak_mb:.0f}x less memory; masks min IoU {worst_tfodkit:.4f}",
            target="<= 0.125 of Datumaro, IoU >= 0.99",
            met=ratio <= 0.125 and worst_tfodkit >= 0.99,
            table="\n".join(table),
            figures={
                "tfodkit_w1_s": one.wall,
                "tfodkit_w2_s": two.wall,
                "datumaro_s": datumaro.wall,
                "tfodkit_w1_cpu_s": one.cpu,
                "tfodkit_w2_cpu_s": two.cpu,
                "datumaro_cpu_s": datumaro.cpu,
                "load_average": load,
            },
        )
    per_mask_table(coco)


if __name__ == "__main__":
    main()
