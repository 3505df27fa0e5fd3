"""P2: `tfod export` of a CVAT XML dataset with images vs Datumaro's `datum convert … -- --save-media`.

Makes 1,000 images (~95 MB of JPEG, ~4,500 boxes) as CVAT for images 1.1 XML, then times whole processes side
by side: tfodkit (1 worker and all cores) and Datumaro 1.13.12 (the engine of CVAT's TFRecord format, in
.venv-interop). Checks that tfodkit's embedded images are byte-identical to the files.

    .venv/bin/python bench/bench_export.py [--images 1000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, markdown_table, run_process  # noqa: E402
from results import record  # noqa: E402

from tfodkit.samples import make_cvat_dataset  # noqa: E402

# What any tool must spend on this job, measured as whole processes: starting Python with tfodkit's CLI
# imported, and only the byte work of the export (read every JPEG, SHA-256 and CRC-32C it, write it into a
# stored zip member) in one process, with no XML parsed and no record encoded.
STARTUP_PROBE = "import tfodkit.cli.convert, tfodkit.formats.cvat_xml, tfodkit.formats.cvat_zip"
BYTES_PROBE = r"""
import hashlib, os, sys, zipfile
import google_crc32c
images, target = sys.argv[1], sys.argv[2]
with open(target, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
    with archive.open("default.tfrecord", "w", force_zip64=True) as member:
        for name in sorted(os.listdir(images)):
            with open(os.path.join(images, name), "rb") as stream:
                data = stream.read()
            hashlib.sha256(data).hexdigest()
            google_crc32c.value(data)
            member.write(data)
"""


def floor_seconds(python: str, images: Path) -> tuple[float, float]:
    """(start-up, byte work) wall seconds, the fastest of 3 runs each."""
    startup = min(run_process([python, "-c", STARTUP_PROBE])[0] for _ in range(3))
    target = OUT / "bytes_probe.zip"
    byte_work = min(run_process([python, "-c", BYTES_PROBE, str(images), str(target)])[0] for _ in range(3))
    target.unlink(missing_ok=True)
    return startup, byte_work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    arguments = parser.parse_args()

    source = OUT / f"cvat_{arguments.images}"
    annotations = source / "annotations.xml"
    if not annotations.exists():
        print(f"making {arguments.images} images in {source} …", flush=True)
        make_cvat_dataset(
            source,
            images=arguments.images,
            size=(640, 480),
            boxes=(2, 7),
            polygons=False,
            quality=87,
            labels=("car", "person", "bicycle", "dog", "traffic light"),
        )
    jpeg_bytes = sum(path.stat().st_size for path in (source / "images").iterdir())
    print(f"dataset: {arguments.images} images, {jpeg_bytes / 1e6:.0f} MB of JPEG", flush=True)

    tfod = str(ROOT / ".venv" / "bin" / "tfod")
    datum = str(ROOT / ".venv-interop" / "bin" / "datum")
    rows = []
    for workers in (1, 2):
        target = OUT / f"export_tfodkit_{workers}.zip"
        target.unlink(missing_ok=True)
        wall, cpu, rss, _ = run_process(
            [
                tfod,
                "export",
                str(annotations),
                str(target),
                "--from",
                "cvat",
                "--save-images",
                "--workers",
                str(workers),
                "-q",
            ]
        )
        rows.append((f"tfodkit, {workers} worker{'s' if workers > 1 else ''}", wall, cpu, rss))
    datumaro_out = OUT / "export_datumaro"
    shutil.rmtree(datumaro_out, ignore_errors=True)
    wall, cpu, rss, _ = run_process(
        [
            datum,
            "convert",
            "-if",
            "cvat",
            "-i",
            str(source),
            "-f",
            "tf_detection_api",
            "-o",
            str(datumaro_out),
            "--",
            "--save-media",
        ]
    )
    rows.append(("Datumaro 1.13.12", wall, cpu, rss))

    # Lossless check: every embedded image equals its file.
    from tfodkit.pipeline import read_dataset

    identical = sum(
        item.image.read() == (source / "images" / item.image.name).read_bytes()
        for item in read_dataset(str(OUT / "export_tfodkit_1.zip"), "cvat-tfrecord")
    )
    best = min(rows[:2], key=lambda row: row[1])
    table = markdown_table(rows, best[0])
    print(table)
    print(f"\nimages byte-identical: tfodkit {identical}/{arguments.images}")
    datumaro_bytes = sum(path.stat().st_size for path in datumaro_out.glob("*.tfrecord"))
    print(
        f"output: tfodkit {(OUT / 'export_tfodkit_1.zip').stat().st_size / 1e6:.1f} MB, "
        f"Datumaro {datumaro_bytes / 1e6:.1f} MB (Datumaro re-encodes every JPEG)"
    )
    with zipfile.ZipFile(OUT / "export_tfodkit_1.zip") as archive:
        print("tfodkit zip:", ", ".join(sorted(archive.namelist())))
    ratio = rows[2][1] / best[1]
    startup, byte_work = floor_seconds(str(ROOT / ".venv" / "bin" / "python"), source / "images")
    print(
        f"floor: start-up with the CLI imported {startup:.2f} s + the byte work alone (read, SHA-256, CRC-32C, "
        f"stored zip; one process) {byte_work:.2f} s = {startup + byte_work:.2f} s; 1/20 of Datumaro is "
        f"{rows[2][1] / 20:.2f} s"
    )
    record(
        "X1",
        title=f"tfod export of {arguments.images:,} CVAT images ({jpeg_bytes / 1e6:.0f} MB JPEG) with images",
        result=f"{best[1]:.2f} s ({best[0]}), Datumaro {ratio:.1f}x slower; {identical}/{arguments.images} images "
        "byte-identical",
        target="<= 1/20 of Datumaro's time",
        met=ratio >= 20 and identical == arguments.images,
        table=table,
    )


if __name__ == "__main__":
    main()
