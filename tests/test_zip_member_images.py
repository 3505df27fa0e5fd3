"""Images read from inside a zip (a CVAT XML zip's ``zip://member::archive`` paths) are still open when read.

fsspec does not cache archive filesystems, and a ``ZipFileSystem`` closes its archive when it is collected; the
stream :func:`tfodkit.storage.open_binary` returns must keep it alive (once: "ValueError: seek of closed file"
converting a CVAT zip with images to VOC).
"""

from __future__ import annotations

import gc
import zipfile
from pathlib import Path

from PIL import Image

from tests._cli import run
from tfodkit.imagesize import read_header
from tfodkit.samples import make_cvat_dataset
from tfodkit.storage import open_binary


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def test_a_zip_member_stream_outlives_the_call_that_opened_it(tmp_path: Path) -> None:
    xml = make_cvat_dataset(tmp_path / "cvat", images=2)
    archive = _zip_folder(xml.parent, tmp_path / "cvat.zip")
    url = f"zip://images/frame_000000.jpg::{archive}"
    with open_binary(url, header_only=True) as stream:
        gc.collect()  # the filesystem that opened the stream is gone unless the stream holds it
        assert stream.read(3) == b"\xff\xd8\xff"
        stream.seek(0)
        assert len(stream.read()) == (xml.parent / "images" / "frame_000000.jpg").stat().st_size
    assert read_header(url).size == (160, 120)


def test_a_cvat_zip_with_images_converts_to_voc_with_its_images(tmp_path: Path) -> None:
    xml = make_cvat_dataset(tmp_path / "cvat", images=3)
    archive = _zip_folder(xml.parent, tmp_path / "cvat.zip")
    out = tmp_path / "voc"
    assert run("convert", str(archive), str(out), "--from", "cvat", "--to", "voc", "--save-images", "-q") == 0
    jpegs = sorted(path.name for path in (out / "JPEGImages").iterdir())
    assert jpegs == ["frame_000000.jpg", "frame_000001.jpg", "frame_000002.jpg"]
    for name in jpegs:
        original = (xml.parent / "images" / name).read_bytes()
        assert (out / "JPEGImages" / name).read_bytes() == original
        with Image.open(out / "JPEGImages" / name) as image:
            depth = (out / "Annotations" / name.replace(".jpg", ".xml")).read_text().split("<depth>")[1][:1]
            assert int(depth) == len(image.getbands())
