"""Outputs never destroy what is not theirs: an existing output needs --overwrite, an output never is, holds or lies
inside an input, a TFRecord file owns its family of names (shards, label map), and a killed run leaves neither
workers nor leftovers that the next run does not clear."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from _cli import run
from conftest import make_items
from test_atomic_outputs import snapshot, write_records

from tfodkit.errors import UsageError
from tfodkit.formats import tfod
from tfodkit.model import Dataset, LabelMap
from tfodkit.pipeline import convert
from tfodkit.storage import TEMP_MARKER

LABELS = LabelMap.from_names(["car", "bus", "cat"])


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small TFRecord file with images embedded, in its own folder (with its label map)."""
    images = tmp_path / "images"
    images.mkdir()
    path = tmp_path / "in" / "in.tfrecord"
    tfod.write(Dataset(make_items(images, 3), LABELS), str(path))
    return path


def last_error(capsys: pytest.CaptureFixture[str]) -> str:
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors and "Traceback" not in "\n".join(errors)
    return errors[-1]


# ------------------------------------------------------------------------------------------------ inputs
def test_an_output_that_holds_its_input_is_refused_even_with_overwrite(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: `tfod import sandbox/task.zip sandbox --to coco` wiped sandbox/ (keep.txt too)."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    assert run("export", str(source), str(sandbox / "task.zip"), "-q") == 0
    (sandbox / "keep.txt").write_text("mine")
    before = snapshot(sandbox)
    for extra in ((), ("--overwrite",)):
        assert run("import", str(sandbox / "task.zip"), str(sandbox), "--to", "coco", *extra) == 2
        assert (
            last_error(capsys) == f"tfod: error: the output {sandbox} holds the input {sandbox / 'task.zip'}; "
            "write it elsewhere"
        )
    assert snapshot(sandbox) == before


@pytest.mark.parametrize("how", ["same file", "inside a folder input", "through a link", "with dot-dot"])
def test_an_output_is_never_an_input(tmp_path: Path, source: Path, how: str) -> None:
    link = tmp_path / "link"
    link.symlink_to(source.parent)
    folder_input = source.parent
    cases = {
        "same file": (source, tmp_path / "in" / ".." / "in" / "in.tfrecord", "tfrecord"),
        "inside a folder input": (folder_input, folder_input / "coco", "coco"),
        "through a link": (source, link / "in.tfrecord", "tfrecord"),
        "with dot-dot": (folder_input, Path(os.path.relpath(folder_input / "sub" / ".." / "out", os.getcwd())), "voc"),
    }
    given, target, to_format = cases[how]
    before = snapshot(tmp_path)
    with pytest.raises(UsageError, match="the output .* (is|lies inside|holds) the input"):
        convert(str(given), str(target), from_format="tfrecord", to_format=to_format, overwrite=True)
    assert snapshot(tmp_path) == before


def test_an_output_into_the_label_map_or_images_input_is_refused(tmp_path: Path, source: Path) -> None:
    images = tmp_path / "images"
    with pytest.raises(UsageError, match="lies inside the input"):
        convert(
            str(source),
            str(images / "coco"),
            to_format="coco",
            read_options={"images_dir": str(images)},
            overwrite=True,
        )
    labels = tmp_path / "labels" / "label_map.pbtxt"
    labels.parent.mkdir()
    labels.write_bytes((source.parent / "label_map.pbtxt").read_bytes())
    with pytest.raises(UsageError, match="is the input"):  # the label map beside the new record file
        convert(
            str(source),
            str(labels.parent / "out.tfrecord"),
            to_format="tfrecord",
            read_options={"label_map": str(labels)},
            overwrite=True,
        )


# ------------------------------------------------------------------------------------------------ existing outputs
OUTPUTS = {  # target name -> format, extra options
    "out.tfrecord": ("tfrecord", ()),
    "records": ("tfrecord", ()),
    "sharded.tfrecord": ("tfrecord", ("--shards", "2")),
    "task.zip": ("cvat-tfrecord", ()),
    "cvat": ("cvat", ()),
    "cvat.zip": ("cvat", ()),
    "annotations.xml": ("cvat", ()),
    "voc": ("voc", ()),
    "coco": ("coco", ()),
    "yolo": ("yolo", ()),
}


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_an_existing_output_needs_overwrite(
    tmp_path: Path, source: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    to_format, extra = OUTPUTS[name]
    target = tmp_path / "out" / name
    command = ("convert", str(source), str(target), "--to", to_format, "-q", *extra)
    assert run(*command) == 0
    first = snapshot(tmp_path / "out")
    capsys.readouterr()
    assert run(*command) == 2
    error = last_error(capsys)
    assert "exists" in error and error.endswith("--overwrite replaces it")
    assert snapshot(tmp_path / "out") == first
    assert run(*command, "--overwrite") == 0
    assert snapshot(tmp_path / "out") == first  # replaced by the same bytes


def test_the_refusal_is_one_line_naming_the_output(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "coco"
    target.mkdir()
    (target / "notes.txt").write_text("not ours")
    assert run("convert", str(source), str(target), "--to", "coco") == 2
    assert last_error(capsys) == f"tfod: error: {target} exists; --overwrite replaces it"
    assert (target / "notes.txt").read_text() == "not ours"


def test_an_empty_folder_is_no_existing_output(tmp_path: Path, source: Path) -> None:
    target = tmp_path / "coco"
    target.mkdir()
    convert(str(source), str(target), to_format="coco")
    assert (target / "annotations").is_dir()


def test_the_python_api_refuses_too(tmp_path: Path, source: Path) -> None:
    target = tmp_path / "voc"
    convert(str(source), str(target), to_format="voc")
    with pytest.raises(UsageError, match="exists; --overwrite replaces it"):
        convert(str(source), str(target), to_format="voc")
    report = convert(str(source), str(target), to_format="voc", overwrite=True)
    assert report.outputs == [str(target)]


def test_a_url_output_that_exists_needs_overwrite(source: Path) -> None:
    pytest.importorskip("fsspec")
    target = "memory://bucket/safety/coco"
    convert(str(source), target, to_format="coco")
    with pytest.raises(UsageError, match="exists"):
        convert(str(source), target, to_format="coco")
    convert(str(source), target, to_format="coco", overwrite=True)


def test_dot_as_output_fails_with_one_line(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for to_format in ("coco", "tfrecord", "cvat"):
        assert run("convert", str(source), ".", "--to", to_format, "--overwrite") == 2
        expected = f"tfod: error: the output {work} holds the current folder; name a new folder for it"
        assert last_error(capsys) == expected
    assert list(work.iterdir()) == []
    assert run("convert", str(source), "./sub", "--to", "coco") == 0  # a new folder below it is fine
    assert (work / "sub" / "annotations").is_dir()


# ------------------------------------------------------------------------------------------------ record families
def test_shards_replace_every_earlier_member_of_the_family(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    target = out / "out.tfrecord"
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q") == 0
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q", "--shards", "3") == 2
    assert "out.tfrecord exists; --overwrite replaces it" in last_error(capsys)
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q", "--shards", "3", "--overwrite") == 0
    assert sorted(path.name for path in out.iterdir()) == [
        "label_map.pbtxt",
        "out-00000-of-00003.tfrecord",
        "out-00001-of-00003.tfrecord",
        "out-00002-of-00003.tfrecord",
    ]
    (out / "outer.tfrecord").write_bytes(b"not of the family")
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q", "--shards", "2") == 2
    assert last_error(capsys).endswith(
        f"out-00000-of-00003.tfrecord exists (part of the output {target}); --overwrite replaces it"
    )
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q", "--shards", "2", "--overwrite") == 0
    assert sorted(path.name for path in out.iterdir()) == [
        "label_map.pbtxt",
        "out-00000-of-00002.tfrecord",
        "out-00001-of-00002.tfrecord",
        "outer.tfrecord",
    ]
    assert run("convert", str(source), str(target), "--to", "tfrecord", "-q", "--overwrite") == 0
    assert sorted(path.name for path in out.iterdir()) == ["label_map.pbtxt", "out.tfrecord", "outer.tfrecord"]


def test_a_different_label_map_beside_is_refused_and_an_identical_one_kept(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "d"
    assert run("convert", str(source), str(shared / "cvat.tfrecord"), "--to", "tfrecord", "-q") == 0
    label_map = shared / "label_map.pbtxt"
    stat = label_map.stat()
    assert run("convert", str(source), str(shared / "again.tfrecord"), "--to", "tfrecord", "-q") == 0
    assert label_map.stat().st_mtime_ns == stat.st_mtime_ns  # the same text: left as it is
    other = tmp_path / "other.tfrecord"
    tfod.write(Dataset([], LabelMap.from_names(["car", "dog"])), str(other))
    before = snapshot(shared)
    assert run("convert", str(other), str(shared / "voc.tfrecord"), "--to", "tfrecord", "-q") == 2
    assert last_error(capsys) == (
        f"tfod: error: {label_map} exists with other labels (only in it: bus, cat; only in the new one: dog); "
        "--overwrite replaces it, --label-map-out PATH writes it elsewhere"
    )
    assert snapshot(shared) == before  # no record file either
    assert (
        run(
            "convert",
            str(other),
            str(shared / "voc.tfrecord"),
            "--to",
            "tfrecord",
            "--json",
            "--label-map-out",
            str(shared / "voc.pbtxt"),
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["outputs"] == [str(shared / "voc.tfrecord"), str(shared / "voc.pbtxt")]
    assert "dog" in (shared / "voc.pbtxt").read_text()
    assert snapshot(shared)["label_map.pbtxt"] == before["label_map.pbtxt"]


def test_the_summary_names_the_label_map_written(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "o" / "out.tfrecord"
    assert run("convert", str(source), str(target), "--to", "tfrecord") == 0
    assert capsys.readouterr().out.strip().endswith(f"-> {target} (label map: {target.parent / 'label_map.pbtxt'})")


def test_cvat_to_an_xml_path_writes_that_file(tmp_path: Path, source: Path) -> None:
    target = tmp_path / "task" / "annotations.xml"
    report = convert(str(source), str(target), to_format="cvat", write_options={"save_images": True})
    assert target.is_file() and target.read_bytes().startswith(b"<?xml")
    assert sorted(path.name for path in (target.parent / "images").iterdir()) == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]
    assert report.outputs == [str(target), str(target.parent / "images")]
    back = convert(str(target), str(tmp_path / "back.tfrecord"), to_format="tfrecord")
    assert back.items == 3 and back.objects == report.objects


# ------------------------------------------------------------------------------------------------ killed runs
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_runs_are_removed_and_named(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = _dead_pid(), os.getppid()
    stale = [out / f"out.tfrecord{TEMP_MARKER}{dead}-0a1b2c3d", out / f".tfodkit-spool-{dead}-x1y2"]
    stale[0].write_bytes(b"half a record")
    stale[1].mkdir()
    (stale[1] / "chunk-1").write_bytes(b"chunk")
    live = out / f"label_map.pbtxt{TEMP_MARKER}{alive}-99999999"  # a live run's: not touched
    live.write_bytes(b"busy")
    assert run("convert", str(source), str(out / "out.tfrecord"), "--to", "tfrecord", "-q") == 0
    assert capsys.readouterr().err.strip() == (
        f"tfod: warning: removed 2 leftovers of an interrupted run: {stale[1]}, {stale[0]}"
    )  # in name order
    assert not any(path.exists() for path in stale) and live.exists()


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_takes_the_workers_along_and_the_next_run_clears_up(tmp_path: Path) -> None:
    many = write_records(tmp_path / "many.tfrecord", 30_000, image_bytes=200)
    work = tmp_path / "work"
    work.mkdir()
    target = work / "out.tfrecord"
    command = [
        sys.executable,
        "-m",
        "tfodkit",
        "convert",
        str(many),
        str(target),
        "--to",
        "tfrecord",
        "-q",
        "--workers",
        "2",
        "--shards",
        "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 60 and process.poll() is None:
            if len(_children(process.pid)) >= 2 and any(TEMP_MARKER in name for name in os.listdir(work)):
                break
            time.sleep(0.02)
        workers = _children(process.pid)
        assert process.poll() is None and len(workers) >= 2, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, workers)), "workers outlived their killed parent"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    left = sorted(os.listdir(work))
    assert left and all(TEMP_MARKER in name or name.startswith(".tfodkit-spool-") for name in left)
    assert not any(name.count(TEMP_MARKER) > 1 for name in left)  # no temporary name of a temporary name
    again = [*command[:-4], "--workers", "1"]
    result = subprocess.run(again, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"removed {len(left)} leftovers of an interrupted run: " in result.stderr
    assert sorted(os.listdir(work)) == ["label_map.pbtxt", "out.tfrecord"]


def test_write_dataset_warns_what_it_removed(tmp_path: Path, source: Path) -> None:
    from tfodkit.pipeline import read_dataset, write_dataset

    target = tmp_path / "coco"
    stale = tmp_path / f"coco{TEMP_MARKER}{_dead_pid()}-deadbeef"
    stale.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_dataset(read_dataset(str(source)), str(target), "coco")
    assert any("removed 1 leftovers of an interrupted run" in str(warning.message) for warning in caught)
    assert not stale.exists() and target.is_dir()


@pytest.mark.parametrize("to_format", ["voc", "coco", "yolo"])
def test_a_folder_format_refuses_a_zip_name(tmp_path: Path, to_format: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.tfrecord"
    tfod.write(Dataset([], LabelMap.from_names(["car"])), str(source))
    assert run("convert", str(source), str(tmp_path / "out.zip"), "--to", to_format) == 2
    assert "is written as a folder, not a zip" in capsys.readouterr().err
    assert not (tmp_path / "out.zip").exists()


def test_an_output_in_the_images_beside_cvat_xml_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tfodkit.samples import make_cvat_dataset

    annotations = make_cvat_dataset(str(tmp_path / "task"))
    images = Path(annotations).parent / "images"
    before = sorted(path.name for path in images.iterdir())
    for target in (images, images / "out"):
        assert run("convert", str(annotations), str(target), "--to", "voc", "--overwrite") == 2
        assert "write it elsewhere" in capsys.readouterr().err
    assert sorted(path.name for path in images.iterdir()) == before
