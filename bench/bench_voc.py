"""Pascal VOC -> TFRecord with images embedded: tfodkit against the TF OD API way and Datumaro, whole processes.

    .venv-interop/bin/python bench/bench_voc.py [--images 1000] [--runs 3] [--skip-datumaro]

Generates (once, cached in bench/out/voc_bench/) a VOCdevkit/VOC2007 of 1,000 photo-like JPEGs (~95 KB each,
~95 MB; ~4.5 boxes per image with difficult/truncated/pose set), then times, side by side, each as a whole
process from start to exit (interpreter start-up and imports included), with page caches warm:

  (a) ``tfod convert VOCdevkit out.tfrecord --from voc --to tfrecord --year VOC2007 --set trainval
      --label-map pascal_label_map.pbtxt`` in the package's own .venv (no TensorFlow), with its default
      workers and with ``--workers 1``;
  (b) the TF OD API's create_pascal_tf_record.py logic on TensorFlow 2 (re-implemented here from its source,
      run by this same file with ``--reference``, in .venv-interop);
  (c) ``datum convert -if voc_detection -i VOC2007 -f tf_detection_api -o out -- --save-media`` (Datumaro 1.13,
      the engine of CVAT's "TFRecord 1.0").

It then checks tfodkit's records: every image/encoded is the original file, byte for byte; difficult,
truncated and view hold the XML's values; and every record equals the reference's, value for value. It
reports what Datumaro's output keeps. Prints a markdown table: wall and CPU seconds (median of --runs; CPU =
user + system of the whole process tree), ratios to tfodkit's best wall time / single-worker CPU time, and
peak RSS (the sum over the process tree, sampled every 20 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "voc_bench"
CLASSES = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]
POSES = ["Unspecified", "Left", "Right", "Frontal", "Rear"]
YEAR = "VOC2007"
IMAGE_SET = "trainval"


# ---------------------------------------------------------------------------------------------- data
def _make_one(args: tuple[Path, int]) -> tuple[str, int, int]:
    import numpy as np

    folder, index = args
    rng = np.random.default_rng(1000 + index)
    width = int(rng.integers(560, 641))
    height = width * 3 // 4
    if rng.random() < 0.2:  # some portrait images
        width, height = height, width
    item_id = f"{index + 1:06d}"
    from tfodkit.samples import make_jpeg

    encoded = make_jpeg(width, height, index, quality=87)  # ~95 KB at 640x480, as VOC's photos
    (folder / "JPEGImages" / f"{item_id}.jpg").write_bytes(encoded)
    objects = []
    for _ in range(int(rng.integers(1, 9))):  # 1..8 boxes, mean 4.5
        x1, y1 = int(rng.integers(1, width - 20)), int(rng.integers(1, height - 20))
        x2, y2 = int(rng.integers(x1 + 8, width + 1)), int(rng.integers(y1 + 8, height + 1))
        objects.append(
            f"\t<object>\n\t\t<name>{CLASSES[int(rng.integers(0, 20))]}</name>\n"
            f"\t\t<pose>{POSES[int(rng.integers(0, 5))]}</pose>\n"
            f"\t\t<truncated>{int(rng.random() < 0.3)}</truncated>\n"
            f"\t\t<difficult>{int(rng.random() < 0.15)}</difficult>\n"
            f"\t\t<bndbox>\n\t\t\t<xmin>{x1}</xmin>\n\t\t\t<ymin>{y1}</ymin>\n\t\t\t<xmax>{x2}</xmax>\n"
            f"\t\t\t<ymax>{y2}</ymax>\n\t\t</bndbox>\n\t</object>\n"
        )
    (folder / "Annotations" / f"{item_id}.xml").write_text(
        f"<annotation>\n\t<folder>{YEAR}</folder>\n\t<filename>{item_id}.jpg</filename>\n"
        "\t<source>\n\t\t<database>The VOC2007 Database</database>\n\t</source>\n"
        f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
        f"\t<segmented>0</segmented>\n{''.join(objects)}</annotation>\n"
    )
    return item_id, len(encoded), len(objects)


def make_dataset(images: int) -> tuple[Path, Path]:
    devkit = OUT / f"VOCdevkit_{images}"
    label_map = OUT / "pascal_label_map.pbtxt"
    marker = devkit / "complete.json"
    if marker.is_file():
        return devkit, label_map
    folder = devkit / YEAR
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor() as pool:
        made = list(pool.map(_make_one, [(folder, index) for index in range(images)], chunksize=16))
    ids = [item_id for item_id, _, _ in made]
    (folder / "ImageSets" / "Main" / f"{IMAGE_SET}.txt").write_text("".join(f"{i}\n" for i in ids))
    (folder / "ImageSets" / "Main" / f"aeroplane_{IMAGE_SET}.txt").write_text("".join(f"{i} -1\n" for i in ids))
    label_map.write_text("".join(f"item {{\n  id: {i + 1}\n  name: '{name}'\n}}\n\n" for i, name in enumerate(CLASSES)))
    summary = {"images": images, "bytes": sum(size for _, size, _ in made), "boxes": sum(n for _, _, n in made)}
    marker.write_text(json.dumps(summary))
    return devkit, label_map


# ---------------------------------------------------------------------------------------------- (b) the reference
def run_reference(data_dir: str, output_path: str, label_map_path: str, year: str, image_set: str) -> None:
    """create_pascal_tf_record.py's main() on TensorFlow 2 (bench/pascal_reference.py), timed as a process."""
    import tensorflow as tf
    from pascal_reference import reference_records

    # label_map_util.get_label_map_dict: name -> id (the bench's label map is plain "id: N / name: 'x'" items).
    label_map_dict = {}
    current_id = None
    with tf.io.gfile.GFile(label_map_path) as stream:
        for line in stream:
            line = line.strip()
            if line.startswith("id:"):
                current_id = int(line[3:])
            elif line.startswith("name:"):
                label_map_dict[line[5:].strip().strip("'\"")] = current_id
    reference_records(data_dir, year, image_set, label_map_dict, output_path)


# ---------------------------------------------------------------------------------------------- measuring
def _tree_rss(group: int) -> int:
    """Resident bytes of every process in the process group ``group``."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != group:  # fields after "(comm)": state, ppid, pgrp, …
                continue
            with open(f"/proc/{entry}/statm", "rb") as stream:
                total += int(stream.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, the whole process tree) and peak process-tree RSS of
    ``command`` run to completion (it must exit 0). CPU seconds do not grow when other work shares the machine."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, start_new_session=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        tail = stderr.decode(errors="replace")[-3000:]
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{tail}")
    return elapsed, cpu, peak


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def measure(name: str, command: list[str], output: Path, runs: int) -> dict:
    times, cpus, peaks = [], [], []
    for _ in range(runs):
        _remove(output)
        seconds, cpu, peak = timed(command)
        times.append(seconds)
        cpus.append(cpu)
        peaks.append(peak)
        print(f"  {name}: {seconds:.2f} s wall, {cpu:.2f} s CPU, {peak / 2**20:.0f} MiB", file=sys.stderr)
    return {
        "name": name,
        "seconds": statistics.median(times),
        "cpu": statistics.median(cpus),
        "rss": max(peaks),
        "runs": times,
    }


# ---------------------------------------------------------------------------------------------- checking
def _records(path: Path):
    from tfodkit.example import decode_example
    from tfodkit.records import read_records

    for record in read_records(str(path)):
        yield decode_example(record)


def check_tfodkit(ours: Path, reference: Path | None, folder: Path) -> dict:
    from lxml import etree

    identical_images = flags_kept = equal_to_reference = count = 0
    reference_records = _records(reference) if reference is not None and reference.exists() else None
    for features in _records(ours):
        count += 1
        name = features["image/filename"][0].decode()
        original = (folder / "JPEGImages" / name).read_bytes()
        identical_images += features["image/encoded"] == [original]
        root = etree.parse(str(folder / "Annotations" / (name.rsplit(".", 1)[0] + ".xml"))).getroot()
        objects = root.findall("object")
        flags_kept += (
            features.get("image/object/difficult", []).tolist() == [int(o.findtext("difficult")) for o in objects]
            and features.get("image/object/truncated", []).tolist() == [int(o.findtext("truncated")) for o in objects]
            and [v.decode() for v in features.get("image/object/view", [])] == [o.findtext("pose") for o in objects]
        )
        if reference_records is not None:
            theirs = next(reference_records)
            equal_to_reference += _same_features(features, theirs)
    return {
        "records": count,
        "identical_images": identical_images,
        "flags_kept": flags_kept,
        "equal_to_reference": equal_to_reference if reference_records is not None else None,
    }


def _same_features(ours: dict, theirs: dict) -> bool:
    import numpy as np

    if set(ours) != set(theirs):
        return False
    for key, value in ours.items():
        other = theirs[key]
        if isinstance(value, np.ndarray) or isinstance(other, np.ndarray):
            if not np.array_equal(np.asarray(value), np.asarray(other)):
                return False
        elif list(value) != list(other):
            return False
    return True


def check_datumaro(output: Path, folder: Path) -> dict:
    files = sorted(output.glob("*.tfrecord"))
    identical_images = flags = count = 0
    for file in files:
        for features in _records(file):
            count += 1
            name = features["image/filename"][0].decode()
            original = folder / "JPEGImages" / name
            identical_images += original.is_file() and features.get("image/encoded") == [original.read_bytes()]
            flags += "image/object/difficult" in features
    return {"records": count, "identical_images": identical_images, "flags_kept": flags}


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (median reported); Datumaro runs once")
    parser.add_argument("--skip-datumaro", action="store_true")
    parser.add_argument("--reference", nargs=3, metavar=("DATA_DIR", "OUTPUT", "LABEL_MAP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        run_reference(*args.reference, YEAR, IMAGE_SET)
        return

    devkit, label_map = make_dataset(args.images)
    folder = devkit / YEAR
    summary = json.loads((devkit / "complete.json").read_text())
    for path in (folder / "JPEGImages").iterdir():  # warm the page cache: every tool reads from memory
        path.read_bytes()
    tfod = REPO / ".venv" / "bin" / "tfod"
    interop_python = REPO / ".venv-interop" / "bin" / "python"
    datum = REPO / ".venv-interop" / "bin" / "datum"
    from tfodkit.parallel import default_workers

    workers = default_workers()
    ours_out = OUT / "tfodkit.tfrecord"
    ours_1_out = OUT / "tfodkit_1.tfrecord"
    reference_out = OUT / "od_api.tfrecord"
    datumaro_out = OUT / "datumaro_out"
    common = [
        str(devkit),
        "--from",
        "voc",
        "--to",
        "tfrecord",
        "--year",
        YEAR,
        "--set",
        IMAGE_SET,
        "--label-map",
        str(label_map),
        "-q",
    ]
    print(
        f"{summary['images']} images, {summary['bytes'] / 1e6:.1f} MB JPEG, {summary['boxes']} boxes; "
        f"{os.cpu_count()} cores",
        file=sys.stderr,
    )
    rows = [
        measure(
            f"tfodkit `tfod convert` ({workers} workers)",
            [str(tfod), "convert", str(common[0]), str(ours_out), *common[1:], "--workers", str(workers)],
            ours_out,
            args.runs,
        ),
        measure(
            "tfodkit `tfod convert --workers 1`",
            [str(tfod), "convert", str(common[0]), str(ours_1_out), *common[1:], "--workers", "1"],
            ours_1_out,
            args.runs,
        ),
        measure(
            "TF OD API create_pascal_tf_record.py logic (TF 2.21)",
            [
                str(interop_python),
                str(Path(__file__).resolve()),
                "--reference",
                str(devkit),
                str(reference_out),
                str(label_map),
            ],
            reference_out,
            args.runs,
        ),
    ]
    if not args.skip_datumaro:
        rows.append(
            measure(
                "Datumaro 1.13 `datum convert … -f tf_detection_api -- --save-media`",
                [
                    str(datum),
                    "convert",
                    "-if",
                    "voc_detection",
                    "-i",
                    str(folder),
                    "-f",
                    "tf_detection_api",
                    "-o",
                    str(datumaro_out),
                    "--",
                    "--save-media",
                ],
                datumaro_out,
                1,
            )
        )

    ours = check_tfodkit(ours_out, reference_out, folder)
    ours_1 = check_tfodkit(ours_1_out, None, folder)
    reference = check_tfodkit(reference_out, None, folder)
    checks = [ours, ours_1, reference]
    if not args.skip_datumaro:
        checks.append(check_datumaro(datumaro_out, folder))
    base = min(rows[0]["seconds"], rows[1]["seconds"])  # tfodkit's best: with the default workers or one
    base_cpu = rows[1]["cpu"]
    heading = (
        f"VOC -> TFRecord, images embedded: {summary['images']} images ({summary['bytes'] / 1e6:.1f} MB JPEG), "
        f"{summary['boxes']} boxes, {os.cpu_count()} cores; median of {args.runs} runs (Datumaro: 1)"
    )
    lines = [
        "| tool | wall s | × tfodkit | CPU s | × tfodkit | peak RSS (MiB) | images byte-identical | VOC flags kept |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, check in zip(rows, checks, strict=True):
        lines.append(
            f"| {row['name']} | {row['seconds']:.2f} | {row['seconds'] / base:.1f} | {row['cpu']:.2f} | "
            f"{row['cpu'] / base_cpu:.1f} | {row['rss'] / 2**20:.0f} | "
            f"{check['identical_images']}/{check['records']} | {check['flags_kept']}/{check['records']} |"
        )
    table = "\n".join(lines)
    equal = ours["equal_to_reference"]
    load = os.getloadavg()[0]
    od_wall, od_cpu = rows[2]["seconds"] / base, rows[2]["cpu"] / base_cpu
    notes = [
        f"tfodkit records equal to the OD API script's, value for value: {equal}/{ours['records']}",
        f"load average during the run: {load:.1f} (wall times need a quiet machine; CPU times less so)",
        f"TF OD API way / tfodkit: wall {od_wall:.1f}, CPU {od_cpu:.1f} (target >= 8)",
    ]
    dm_wall = dm_cpu = None
    if not args.skip_datumaro:
        dm_wall, dm_cpu = rows[3]["seconds"] / base, rows[3]["cpu"] / base_cpu
        notes.append(f"Datumaro / tfodkit: wall {dm_wall:.1f}, CPU {dm_cpu:.1f} (target >= 25)")
    print(f"\n{heading}\n\n{table}\n\n" + "\n".join(notes))
    checks_ok = ours["identical_images"] == ours["records"] == ours["flags_kept"] == equal

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import record

    result = f"tfodkit {base:.2f} s; TF OD API way {od_wall:.1f}x slower"
    if dm_wall is not None:
        result += f", Datumaro {dm_wall:.1f}x slower (drops VOC flags, re-encodes images)"
    record(
        "P2",
        title=f"VOC -> TFRecord, {summary['images']} images embedded, vs TF OD API way, Datumaro",
        result=result,
        target="TF OD API way / tfodkit >= 8, Datumaro / tfodkit >= 25; byte-identical images, VOC flags kept",
        met=checks_ok and od_wall >= 8 and (dm_wall is None or dm_wall >= 25),
        table=f"{heading}\n\n{table}\n\n" + "\n".join(notes),
        figures={
            "tfodkit_seconds": base,
            "tfodkit_cpu": base_cpu,
            "od_api_ratio": od_wall,
            "od_api_cpu_ratio": od_cpu,
            "datumaro_ratio": dm_wall,
            "datumaro_cpu_ratio": dm_cpu,
            "load_average": load,
            "equal_to_reference": equal,
            "records": ours["records"],
        },
    )
    if not checks_ok:
        raise SystemExit("tfodkit's output failed a check")


if __name__ == "__main__":
    main()
