"""Nothing is lost: an exception, Ctrl-C (SIGINT) or a full disk during a write leaves the previous output as it
was (or no output at all), and never a temporary file (``*.tfodkit-partial-*``) or staging folder behind.

- every writer, in-process: a dataset that raises (an error, or KeyboardInterrupt) after a few items;
- ``tfod convert`` in a subprocess, interrupted with SIGINT once its temporary output exists (mid-run);
- ``tfod convert`` in a subprocess whose file size is limited (``RLIMIT_FSIZE``: writes fail with EFBIG), and,
  where user namespaces allow it, on a 1 MiB tmpfs that fills up (ENOSPC).
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import make_items

from tfodkit.example import encode_example
from tfodkit.formats import coco, cvat_xml, cvat_zip, tfod, voc, yolo
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.records import RecordWriter
from tfodkit.storage import TEMP_MARKER

LABELS = LabelMap.from_names(["car", "自行车", 'it\'s "quoted"'])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with a hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
        for path in sorted(folder.rglob("*"))
    }


def leftovers(folder: Path) -> list[str]:
    return [name for name in snapshot(folder) if TEMP_MARKER in name or ".tfodkit-" in name]


class Boom(Exception):
    pass


WRITERS: dict[str, tuple[Callable[..., None], str, dict[str, object]]] = {
    "tfrecord file": (tfod.write, "out.tfrecord", {}),
    "tfrecord folder": (tfod.write, "records", {}),
    "tfrecord shards": (tfod.write, "sharded.tfrecord", {"shards": 3}),
    "tfrecord gzip": (tfod.write, "out.tfrecord.gz", {"compression": "gzip"}),
    "cvat-tfrecord zip": (cvat_zip.write, "task.zip", {"save_images": True}),
    "voc": (voc.write, "voc", {}),
    "coco": (coco.write, "coco", {}),
    "cvat xml folder": (cvat_xml.write, "cvat", {"save_images": True}),
    "cvat xml zip": (cvat_xml.write, "cvat.zip", {"save_images": True}),
    "yolo ultralytics": (yolo.write, "yolo", {}),
    "yolo darknet": (yolo.write, "darknet", {"layout": "darknet"}),
}


@pytest.fixture
def items(tmp_path: Path) -> list[Item]:
    images = tmp_path / "images"
    images.mkdir()
    return make_items(images, 6)


def failing_after(items: list[Item], count: int, error: type[BaseException]) -> Callable[[], Iterator[Item]]:
    def iterate() -> Iterator[Item]:
        for index, item in enumerate(items):
            if index == count:
                raise error("the run fails here")
            yield item

    return iterate


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_failed_write_keeps_the_previous_output(
    tmp_path: Path, items: list[Item], writer: str, error: type[BaseException]
) -> None:
    write, name, options = WRITERS[writer]
    work = tmp_path / "work"
    work.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write(Dataset(items[:2], LABELS), str(work / name), **options)
        before = snapshot(work)
        assert before
        with pytest.raises(error):
            write(Dataset(failing_after(items, 4, error), LABELS), str(work / name), **options)
    assert snapshot(work) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_failed_first_write_leaves_nothing(
    tmp_path: Path, items: list[Item], writer: str, error: type[BaseException]
) -> None:
    write, name, options = WRITERS[writer]
    work = tmp_path / "work"
    work.mkdir()
    with warnings.catch_warnings(), pytest.raises(error):
        warnings.simplefilter("ignore")
        write(Dataset(failing_after(items, 4, error), LABELS), str(work / name), **options)
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------------------------------------ subprocesses
def write_records(path: Path, count: int, *, image_bytes: int = 0, big_at: int | None = None) -> Path:
    """``count`` detection records; images of ``image_bytes`` random bytes (a JPEG signature first), and one
    image of 256 KiB at ``big_at``."""
    rng = np.random.default_rng(0)
    with RecordWriter(str(path)) as writer:
        for index in range(count):
            size = 256 << 10 if index == big_at else image_bytes
            encoded = b"\xff\xd8\xff" + rng.bytes(size) if size else b""
            writer.write(
                encode_example(
                    {
                        "image/filename": [f"{index:06d}.jpg".encode()],
                        "image/height": [48],
                        "image/width": [64],
                        "image/encoded": [encoded],
                        "image/format": [b"jpeg" if encoded else b""],
                        "image/object/bbox/xmin": np.array([0.1], np.float32),
                        "image/object/bbox/xmax": np.array([0.5], np.float32),
                        "image/object/bbox/ymin": np.array([0.2], np.float32),
                        "image/object/bbox/ymax": np.array([0.6], np.float32),
                        "image/object/class/text": [b"car"],
                        "image/object/class/label": [1],
                    }
                )
            )
    return path


def tfod_command(source: Path, target: Path, to_format: str, *extra: str) -> list[str]:
    """``tfod convert`` replacing ``target`` (these tests write over a previous output on purpose)."""
    return [
        sys.executable,
        "-m",
        "tfodkit",
        "convert",
        str(source),
        str(target),
        "--to",
        to_format,
        "-q",
        "--overwrite",
        *extra,
    ]


def default_sigint() -> None:
    """In the child: Ctrl-C interrupts, even when pytest was started with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


TARGETS = {  # format -> the target's name
    "tfrecord": "out.tfrecord",
    "cvat-tfrecord": "task.zip",
    "voc": "voc",
    "coco": "coco",
    "cvat": "cvat",
    "yolo": "yolo",
}


@pytest.fixture(scope="module")
def many_records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_records(tmp_path_factory.mktemp("many") / "many.tfrecord", 30_000)


@pytest.mark.parametrize(
    ("to_format", "extra"),
    [
        ("tfrecord", ("--shards", "4", "--workers", "2")),
        ("cvat-tfrecord", ("--workers", "1")),
        ("voc", ("--no-save-images",)),
        ("cvat", ()),
    ],
)
def test_sigint_mid_run_keeps_the_previous_output(
    tmp_path: Path, many_records: Path, to_format: str, extra: tuple[str, ...]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = work / TARGETS[to_format]
    small = write_records(tmp_path / "small.tfrecord", 3)
    subprocess.run(tfod_command(small, target, to_format, *extra), check=True, capture_output=True)
    before = snapshot(work)

    process = subprocess.Popen(
        tfod_command(many_records, target, to_format, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )  # noqa: PLW1509
    try:
        started = time.monotonic()
        while not leftovers(work) and process.poll() is None and time.monotonic() - started < 120:
            time.sleep(0.01)  # wait for the temporary output: the run is then writing
        assert process.poll() is None, "the conversion ended before it could be interrupted; give it more records"
        time.sleep(0.05)  # well inside the run: 30,000 records take seconds
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "tfod: interrupted; no output was written"
    assert snapshot(work) == before
    assert leftovers(tmp_path) == []


def limit_file_size() -> None:
    """In the child: files may not grow past 128 KiB; a write beyond fails with EFBIG instead of killing it."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (128 << 10, 128 << 10))


@pytest.mark.parametrize("to_format", list(TARGETS))
def test_a_full_disk_keeps_the_previous_output(tmp_path: Path, to_format: str) -> None:
    """RLIMIT_FSIZE: the record file (or zip) outgrows the limit mid-run; folder formats fail on the one
    256 KiB image at item 150 after writing many smaller files."""
    work = tmp_path / "work"
    work.mkdir()
    target = work / TARGETS[to_format]
    small = write_records(tmp_path / "small.tfrecord", 3, image_bytes=1000)
    subprocess.run(tfod_command(small, target, to_format, "--save-images"), check=True, capture_output=True)
    before = snapshot(work)
    big = write_records(tmp_path / "big.tfrecord", 200, image_bytes=2000, big_at=150)
    result = subprocess.run(
        tfod_command(big, target, to_format, "--save-images"),
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tfod: error: ")
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(work) == before
    assert leftovers(tmp_path) == []


def _can_mount_tmpfs_in_a_user_namespace(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {folder}"], capture_output=True
    )
    return probe.returncode == 0


def test_a_small_tmpfs_that_fills_up(tmp_path: Path) -> None:
    """ENOSPC for real: the conversion runs in a user namespace on a 1 MiB tmpfs holding a previous output."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if not _can_mount_tmpfs_in_a_user_namespace(mount):
        pytest.skip("cannot mount a tmpfs here (no unshare or no user namespaces)")
    small = write_records(tmp_path / "small.tfrecord", 3, image_bytes=1000)
    big = write_records(tmp_path / "big.tfrecord", 600, image_bytes=4000)  # ~2.4 MB of images: more than fits
    script = tmp_path / "inside.sh"
    script.write_text(
        "set -e\n"
        f"mount -t tmpfs -o size=1m tmpfs {mount}\n"
        f"{sys.executable} -m tfodkit convert {small} {mount}/voc --to voc -q --save-images\n"
        f"(cd {mount} && find . | sort) > {tmp_path}/before.txt\n"
        f"set +e\n{sys.executable} -m tfodkit convert {big} {mount}/voc --to voc -q --save-images --overwrite "
        f"2> {tmp_path}/stderr.txt\necho $? > {tmp_path}/status.txt\n"
        f"(cd {mount} && find . | sort) > {tmp_path}/after.txt\n"
    )
    subprocess.run(["unshare", "-Urm", "sh", str(script)], check=True, capture_output=True)
    assert (tmp_path / "status.txt").read_text().strip() == "2"
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "No space left on device" in stderr and "Traceback" not in stderr
    before = (tmp_path / "before.txt").read_text()
    assert "./voc/Annotations/000000.xml" in before
    assert (tmp_path / "after.txt").read_text() == before


def test_the_repository_holds_no_temporary_output() -> None:
    """Nothing (tests included) left a temporary output inside the checkout."""
    root = Path(__file__).resolve().parent.parent
    found = [
        str(path.relative_to(root))
        for folder in ("src", "tests", "fuzz", "examples", "bench", "docs")
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*")
        if TEMP_MARKER in path.name or path.name.startswith(".tfodkit-staging-")
    ]
    assert found == []
