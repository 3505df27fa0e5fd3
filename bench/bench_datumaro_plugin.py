"""``dataset.export(out, "tf_detection_api", save_media=True)``: tfodkit's Datumaro plugin against Datumaro's own
TensorFlow plugin, whole processes, side by side.

    .venv-interop/bin/python bench/bench_datumaro_plugin.py [--images 1000] [--runs 3]

Generates (once, cached in bench/out/datumaro_plugin_bench/) IMAGES photo-like JPEGs (640x480, ~95 KB) with
1-9 boxes each, then times two child processes of the interop venv (Datumaro 1.13 and TensorFlow both installed),
each from start to exit (imports included): both build the same Datumaro dataset of ``Image.from_file`` items
and export it; (a) after ``import tfodkit.datumaro`` (tfodkit's plugin under the name ``tf_detection_api``),
(b) without it (Datumaro's plugin, on TensorFlow). Prints a markdown table (median wall and CPU seconds, peak
RSS) and checks the outputs: same record count, and tfodkit's image/encoded are the original JPEG files byte
for byte (Datumaro's are re-encoded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, python_for, run_process  # noqa: E402
from results import record  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "datumaro_plugin_bench"
LABELS = [f"class_{index}" for index in range(20)]


def make_images(count: int) -> Path:
    """``count`` JPEGs in OUT/images_<count>/, made once."""
    from tfodkit.samples import make_jpeg

    folder = OUT / f"images_{count}"
    done = folder / ".done"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            (folder / f"{index:06d}.jpg").write_bytes(make_jpeg(640, 480, index, quality=87))
        done.touch()
    return folder


def child(mode: str, images: Path, out: Path) -> None:
    """One measured run: build the Datumaro dataset and export it (the plugin first imported in mode 'tfodkit')."""
    import numpy as np

    if mode == "tfodkit":
        import tfodkit.datumaro  # noqa: F401
    from datumaro.components.annotation import Bbox
    from datumaro.components.dataset import Dataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image

    def items():
        for index, path in enumerate(sorted(images.glob("*.jpg"))):
            rng = np.random.default_rng(index)
            boxes = []
            for _ in range(int(rng.integers(1, 10))):
                x, y = rng.random(2) * [480, 360]
                boxes.append(Bbox(float(x), float(y), 120.0, 90.0, label=int(rng.integers(0, len(LABELS)))))
            yield DatasetItem(path.stem, subset="train", media=Image.from_file(str(path)), annotations=boxes)

    Dataset.from_iterable(list(items()), categories=LABELS).export(str(out), "tf_detection_api", save_media=True)


def check(images: Path, outputs: dict[str, Path]) -> list[str]:
    from tfodkit.formats import tfod

    notes = []
    counts = {name: sum(1 for _ in tfod.read(str(folder / "train.tfrecord"))) for name, folder in outputs.items()}
    notes.append(f"records: {counts}")
    for name, folder in outputs.items():
        same = sum(
            item.image.data == (images / f"{item.id}.jpg").read_bytes()
            for item in tfod.read(str(folder / "train.tfrecord"))
        )
        notes.append(f"{name}: {same} of {counts[name]} images embedded as the original file bytes")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "IMAGES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return

    images = make_images(args.images)
    python = python_for("datumaro")
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows, outputs = [], {}
    for name, mode in (("tfodkit plugin", "tfodkit"), ("Datumaro TF plugin", "datumaro")):
        walls, cpus, rss = [], [], []
        for run in range(args.runs):
            out = OUT / f"out_{mode}_{args.images}_{run}"
            if out.exists():
                import shutil

                shutil.rmtree(out)
            wall, cpu, peak, _ = run_process([python, __file__, "--child", mode, images, out], env=env)
            walls.append(wall)
            cpus.append(cpu)
            rss.append(peak)
            outputs[name] = out
        rows.append((name, statistics.median(walls), statistics.median(cpus), max(rss)))
    print(f"dataset.export(..., 'tf_detection_api', save_media=True), {args.images} images, median of {args.runs}")
    table = markdown_table(rows, baseline="tfodkit plugin")
    print(table)
    notes = check(images, outputs)
    for note in notes:
        print(note)
    (_, ours, _, our_rss), (_, theirs, _, their_rss) = rows
    record(
        "D1",
        title=f"Datumaro `dataset.export(..., 'tf_detection_api', save_media=True)`, {args.images} images",
        result=f"tfodkit plugin {ours:.2f} s / {our_rss:.0f} MB, Datumaro's TF plugin {theirs:.2f} s / "
        f"{their_rss:.0f} MB ({theirs / ours:.1f}x); {notes[-2].split(': ', 1)[1]}",
        target="faster than Datumaro's TF plugin, original image bytes",
        met=ours < theirs,
        table=table,
        figures={"tfodkit_s": ours, "datumaro_s": theirs, "tfodkit_rss": our_rss, "datumaro_rss": their_rss},
    )


if __name__ == "__main__":
    main()
