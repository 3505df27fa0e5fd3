"""Read a synthetic CVAT for images 1.1 ``annotations.xml``: tfodkit vs Datumaro's ``cvat`` importer.

Every tool runs as a WHOLE PROCESS (imports included): wall and CPU seconds, and peak RSS, from ``wait4``.
The dataset (default 20,000 images × 6 boxes + 1 polygon, with attributes) is generated into
``bench/out/cvat_xml/`` (git-ignored) with empty image files (Datumaro insists the files exist; neither tool
reads them). Each reader runs twice; the second (warm) run is reported. tfodkit is also run on a 4× larger
file to show that its memory does not grow with the number of images (it streams; Datumaro keeps every item).

    .venv/bin/python bench/bench_cvat_xml.py [--images 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import INTEROP_PYTHON, OUT, ROOT, markdown_table, run_process  # noqa: E402

READERS = {
    "tfodkit": r"""
import sys, warnings
from tfodkit.formats import cvat_xml
warnings.simplefilter("ignore")
objects = sum(len(item.objects) for item in cvat_xml.read(sys.argv[1]))
print(objects)
""",
    "datumaro": r"""
import sys, logging
logging.disable(logging.WARNING)
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], "cvat")
print(sum(len(item.annotations) for item in dataset))
""",
}


def make_dataset(folder: Path, images: int, *, with_files: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    labels = [f"class_{index}" for index in range(20)]
    with open(folder / "annotations.xml", "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta><task>')
        out.write("<name>bench</name><labels>")
        for label in labels:
            out.write(
                f"<label><name>{label}</name><attributes><attribute><name>color</name><mutable>False</mutable>"
                "<input_type>text</input_type><default_value></default_value><values></values></attribute>"
                "</attributes></label>"
            )
        out.write("</labels></task></meta>\n")
        for index in range(images):
            out.write(f'  <image id="{index}" name="{index:08d}.jpg" width="640" height="480">\n')
            for _ in range(6):
                x, y = rng.uniform(0, 500), rng.uniform(0, 350)
                out.write(
                    f'    <box label="{rng.choice(labels)}" occluded="0" xtl="{x:.2f}" ytl="{y:.2f}" '
                    f'xbr="{x + 60:.2f}" ybr="{y + 80:.2f}" z_order="0">\n'
                    '      <attribute name="color">red</attribute>\n    </box>\n'
                )
            out.write(
                f'    <polygon label="{rng.choice(labels)}" occluded="1" '
                'points="10.00,10.00;50.50,12.25;40.00,60.00;12.00,55.75" z_order="1">\n    </polygon>\n'
            )
            out.write("  </image>\n")
        out.write("</annotations>\n")
    if with_files:
        images_dir = folder / "images"
        images_dir.mkdir(exist_ok=True)
        for index in range(images):
            (images_dir / f"{index:08d}.jpg").touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000)
    arguments = parser.parse_args()
    base = OUT / "cvat_xml"
    small, large = base / f"n{arguments.images}", base / f"n{arguments.images * 4}"
    make_dataset(small, arguments.images, with_files=True)
    make_dataset(large, arguments.images * 4, with_files=False)
    size_mb = (small / "annotations.xml").stat().st_size / 1e6

    rows = []
    interpreters = {"tfodkit": str(ROOT / ".venv" / "bin" / "python"), "datumaro": str(INTEROP_PYTHON)}
    for tool, code in READERS.items():
        if not Path(interpreters[tool]).exists():
            print(f"skipping {tool}: {interpreters[tool]} missing")
            continue
        counts = set()
        for _ in range(2):
            seconds, cpu, rss, stdout = run_process([interpreters[tool], "-c", code, str(small)])
            counts.add(stdout.strip())
        assert len(counts) == 1, counts
        rows.append((tool, seconds, cpu, rss))
        print(f"{tool}: {stdout.strip()} objects")
    print(f"\n{arguments.images} images, {arguments.images * 7} shapes, annotations.xml {size_mb:.1f} MB\n")
    print(markdown_table(rows, "tfodkit"))
    seconds, cpu, rss, stdout = run_process([interpreters["tfodkit"], "-c", READERS["tfodkit"], str(large)])
    print(
        f"\ntfodkit on {arguments.images * 4} images: {seconds:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {rss:.0f} MB ({stdout.strip()} objects)"
    )


if __name__ == "__main__":
    main()
