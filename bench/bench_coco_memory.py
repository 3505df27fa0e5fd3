"""COCO reading at scale: a 100k-image instances JSON loaded whole (json) or streamed (ijson), time and memory.

    .venv/bin/python bench/bench_coco_memory.py [--images 100000]

Generates (once, in bench/out/coco_memory/) an instances file shaped like COCO train2017 (7 polygon
annotations of 16 points per image, 80 categories; ~290 MB for 100k images), then reads it with tfodkit's COCO
reader in a fresh process per mode — every item built, polygons kept — and prints wall and CPU seconds and
peak RSS. ``json.load`` alone is the floor of the whole-document way. Streaming needs ``ijson``
(``pip install tfodkit[coco]``); without it the reader loads files whole.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "coco_memory"

READER = """
import sys, time, warnings
warnings.simplefilter("ignore")
mode, path = sys.argv[1], sys.argv[2]
if mode == "json.load":
    import json
    with open(path, "rb") as stream:
        document = json.load(stream)
    print(len(document["images"]), len(document["annotations"]))
else:
    from tfodkit.formats import coco
    coco.STREAM_THRESHOLD = 0 if mode == "streamed" else None
    items = objects = points = 0
    for item in coco.read(path):
        items += 1
        objects += len(item.objects)
        points += sum(len(p) for polygons in item.objects.polygons for p in polygons)
    print(items, objects, points)
"""


def make_file(images: int) -> Path:
    import numpy as np

    path = OUT / f"instances_train_{images}.json"
    if path.is_file():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    temp = path.with_suffix(".partial")
    with open(temp, "w") as out:
        out.write('{"info": {}, "licenses": [], "images": [')
        for index in range(images):
            out.write(("," if index else "") + json.dumps({
                "id": index + 1, "file_name": f"{index + 1:012d}.jpg", "width": 640, "height": 480, "license": 1,
                "coco_url": "http://images.cocodataset.org/train2017/x.jpg", "date_captured": "2013-11-14 17:02:52"}))
        out.write('], "annotations": [')
        count = 0
        for index in range(images):
            for _ in range(7):
                x, y = float(rng.uniform(0, 500)), float(rng.uniform(0, 400))
                w, h = float(rng.uniform(5, 130)), float(rng.uniform(5, 70))
                polygon = np.round(rng.uniform([x, y], [x + w, y + h], size=(16, 2)), 2).reshape(-1).tolist()
                out.write(("," if count else "") + json.dumps({
                    "id": count + 1, "image_id": index + 1, "category_id": int(rng.integers(1, 81)),
                    "segmentation": [polygon], "area": round(w * h * 0.6, 2),
                    "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)], "iscrowd": 0}))
                count += 1
        categories = [{"id": c, "name": f"class{c}", "supercategory": "s"} for c in range(1, 81)]
        out.write('], "categories": ' + json.dumps(categories) + "}")
    temp.rename(path)
    return path


def run(mode: str, path: Path) -> tuple[float, float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", READER, mode, str(path)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    args = parser.parse_args()
    path = make_file(args.images)
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB\n")
    print("| read | wall s | CPU s | peak RSS (MiB) | items objects points |")
    print("|---|---:|---:|---:|---|")
    # RUSAGE_CHILDREN's maxrss is the largest child so far: run the small one first.
    for mode in ("streamed", "document", "json.load"):
        wall, cpu, rss, counts = run(mode, path)
        label = {"streamed": "tfodkit, streamed (ijson)", "document": "tfodkit, whole document (json)",
                 "json.load": "json.load alone"}[mode]
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {counts} |")


if __name__ == "__main__":
    main()
