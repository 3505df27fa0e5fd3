"""The `tfod` command end to end on real files: export, import, convert, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _cli import run

from tfodkit.pipeline import read_dataset
from tfodkit.samples import SAMPLE_LABELS, make_cvat_dataset


@pytest.fixture
def cvat_xml(tmp_path: Path) -> Path:
    return make_cvat_dataset(tmp_path / "cvat", images=5)


def test_export_then_import_round_trip(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "task.zip"
    # CVAT exports polygons only as masks: --masks polygons keeps every object
    assert run("export", str(cvat_xml), str(archive), "--save-images", "--masks", "polygons", "--workers", "2") == 0
    summary = capsys.readouterr().out
    assert "cvat -> cvat-tfrecord: 5 images" in summary
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]

    assert run("import", str(archive), str(tmp_path / "back"), "--to", "cvat", "--save-images") == 0
    original = {item.id: item for item in read_dataset(str(cvat_xml), "cvat")}
    back = read_dataset(str(tmp_path / "back"), "cvat")
    seen = 0
    for item in back:
        source = original[item.id]
        assert item.subset == source.subset
        assert len(item.objects) == len(source.objects)
        assert item.image.read() == (cvat_xml.parent / "images" / source.image.name).read_bytes()
        names = sorted(back.label_map.name_of(i) for i in item.objects.label_ids)
        source_labels = read_dataset(str(cvat_xml), "cvat").label_map
        assert names == sorted(source_labels.name_of(i) for i in source.objects.label_ids)
        seen += 1
    assert seen == 5
    assert set(back.label_map.names) <= set(SAMPLE_LABELS)


def test_labels_with_unicode_and_quotes_survive(tmp_path: Path, cvat_xml: Path) -> None:
    archive = tmp_path / "task.zip"
    assert run("export", str(cvat_xml), str(archive), "-q") == 0
    assert read_dataset(str(archive)).label_map.names == list(SAMPLE_LABELS)


def test_json_summary(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("convert", str(cvat_xml), str(tmp_path / "out.tfrecord"), "--to", "tfrecord", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 5 and summary["from"] == "cvat" and summary["to"] == "tfrecord"
    assert summary["items_per_subset"] == {"train": 3, "val": 2}


def test_errors_are_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "damaged.tfrecord"
    damaged.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00garbage-garbage-garbage")
    assert run("convert", str(damaged), str(tmp_path / "out.zip"), "--from", "tfrecord", "--to", "cvat-tfrecord") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tfod: error: ") and str(damaged) in error and "\n" not in error
    assert not any(name.endswith(".zip") or ".tfodkit-partial-" in name for name in os.listdir(tmp_path))


def test_an_option_the_format_does_not_take_is_refused(
    tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", str(cvat_xml), str(tmp_path / "o.zip"), "--to", "cvat-tfrecord", "--year", "VOC2007") == 2
    assert "--year does not apply" in capsys.readouterr().err


def test_unknown_format_input_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert run("convert", str(tmp_path / "notes.txt"), str(tmp_path / "o.zip"), "--to", "cvat-tfrecord") == 2
    assert "cannot tell the format" in capsys.readouterr().err


def test_console_script_runs_as_a_process(tmp_path: Path, cvat_xml: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tfodkit", "export", str(cvat_xml), str(tmp_path / "t.zip"), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.zip").exists()
    command = [sys.executable, "-m", "tfodkit", "export", "--help"]
    help_text = subprocess.run(command, capture_output=True, text=True).stdout
    assert "Examples:" in help_text


def test_target_labels_match_by_name_and_report_the_rest(
    tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "task.zip"
    assert run("export", str(cvat_xml), str(archive), "-q") == 0
    labels_file = tmp_path / "task_labels.txt"
    labels_file.write_text("自行车\ncar\n", encoding="utf-8")
    back_dir = str(tmp_path / "back")
    assert run("import", str(archive), back_dir, "--to", "cvat", "--target-labels", f"@{labels_file}") == 0
    warning = capsys.readouterr().err
    assert "labels not in --target-labels" in warning and "'voiture rouge'" in warning
    back = read_dataset(str(tmp_path / "back"), "cvat")
    assert back.label_map.names == ["自行车", "car"]
    kept = {back.label_map.name_of(i) for item in back for i in item.objects.label_ids}
    assert kept <= {"自行车", "car"} and kept


def test_transform_specs_take_options(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    masked = tmp_path / "masked.tfrecord"
    assert (
        run(
            "convert",
            str(cvat_xml),
            str(masked),
            "--to",
            "tfrecord",
            "--no-save-images",
            "-q",
            "-t",
            "polygons_to_masks:keep_polygons=false",
        )
        == 0
    )
    items = list(read_dataset(str(masked), "tfrecord"))
    assert any(mask is not None for item in items for mask in item.objects.masks)
    assert run("convert", str(cvat_xml), str(tmp_path / "x.tfrecord"), "--to", "tfrecord", "-t", "blur") == 2
    error = capsys.readouterr().err
    assert "unknown transform 'blur'; known transforms: polygons_to_masks" in error and len(error.splitlines()) == 1
    assert (
        run(
            "convert",
            str(cvat_xml),
            str(tmp_path / "y.tfrecord"),
            "--to",
            "tfrecord",
            "-t",
            "masks_to_polygons:tolerance=much",
        )
        == 2
    )
    assert "masks_to_polygons:tolerance: expected a number, got 'much'" in capsys.readouterr().err


def test_mask_modes_and_run_helpers_have_one_home() -> None:
    from tfodkit import transforms
    from tfodkit.cli import convert as cli_convert

    assert cli_convert.MASK_MODES is transforms.MASK_MODES
    assert not hasattr(cli_convert, "run_conversion") and hasattr(cli_convert, "convert_and_report")
    beam_source = (Path(__file__).resolve().parents[1] / "src" / "tfodkit" / "beam.py").read_text(encoding="utf-8")
    assert "def convert_with_beam(" in beam_source and "run_conversion" not in beam_source
