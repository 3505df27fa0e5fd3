"""The README's demo: CVAT XML + images -> CVAT "TFRecord 1.0" zip with images -> back to CVAT XML.

Makes a small CVAT dataset (6 images, boxes, a polygon each, unicode and quoted label names), exports it with
its polygons as instance masks, imports it back (masks traced into polygons) and converts it to two TFRecord
shards with the `tfod` command, and prints what came back and what the formats could not hold (`tfod: lost:`).
Runs without TensorFlow.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tfodkit.pipeline import read_dataset
from tfodkit.samples import make_cvat_dataset


def tfod(*arguments: str) -> None:
    command = [sys.executable, "-m", "tfodkit", *arguments]
    print("$ tfod " + " ".join(arguments), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tfodkit-demo-"))
    annotations = make_cvat_dataset(work / "cvat", images=6)
    archive = work / "task.zip"
    back = work / "back"

    # CVAT's export leaves polygons without a mask out: --masks polygons keeps them, as instance masks.
    tfod("export", str(annotations), str(archive), "--save-images", "--from", "cvat", "--masks", "polygons")
    with zipfile.ZipFile(archive) as opened:
        print("  archive:", ", ".join(f"{info.filename} ({info.file_size} B)" for info in opened.infolist()))
    # Back to CVAT XML: the masks traced into polygons again (CVAT XML holds polygons, not masks).
    tfod("import", str(archive), str(back), "--to", "cvat", "--save-images", "-t", "masks_to_polygons")
    tfod("convert", str(archive), str(work / "train.tfrecord"), "--to", "tfrecord", "--shards", "2")

    original = {item.id: item for item in read_dataset(str(annotations), "cvat")}
    imported = read_dataset(str(archive), "cvat-tfrecord")
    same_images = 0
    for item in imported:
        source = original[item.id]
        if item.image.read() == (work / "cvat" / "images" / source.image.name).read_bytes():
            same_images += 1
        print(f"  {item.subset:5} {item.image.name}: {len(item.objects)} objects "
              f"{sorted(imported.label_map.name_of(label) for label in item.objects.label_ids)}")
    print(f"labels: {imported.label_map.names}")
    print(f"{same_images}/{len(original)} embedded images are byte-identical to the originals")
    print(f"output in {work}")


if __name__ == "__main__":
    main()
