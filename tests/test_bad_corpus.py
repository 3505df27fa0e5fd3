"""Every file in tests/bad/ (one per kind of defect) gives its typed error, naming the file and the place.

Each case is checked twice: through the library (error class, message fragment, path, record index, byte
offset or line) and through ``tfod convert`` (exit status 2, exactly one line on stderr, ``tfod: error: FILE:
…``, and no output or temporary file left behind). tests/bad/make_bad_corpus.py rebuilds the files; the
first test checks the committed files are what it makes.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tfodkit.cli import main
from tfodkit.errors import (
    CorruptRecordError,
    ExampleDecodeError,
    FormatError,
    LabelMapError,
    TfodError,
    UnsafeArchiveError,
)
from tfodkit.pipeline import read_dataset

BAD = Path(__file__).resolve().parent / "bad"
sys.path.insert(0, str(BAD))
import make_bad_corpus  # noqa: E402


@dataclass(frozen=True)
class Case:
    source: str  # in tests/bad/
    fmt: str
    error: type[TfodError]
    fragment: str  # part of the message, exactly
    where: str  # the file the error names, relative to tests/bad/
    place: dict[str, int] = field(default_factory=dict)  # record_index / offset / line the error must carry
    options: dict[str, str] = field(default_factory=dict)  # read options (CLI: --label-map …)


CASES = {
    "truncated record": Case(
        "truncated.tfrecord",
        "tfrecord",
        CorruptRecordError,
        "length prefix 418 is larger than the 378 data bytes that remain",
        "truncated.tfrecord",
        {"record_index": 1, "offset": 434},
    ),
    "bad CRC": Case(
        "bad_crc.tfrecord",
        "tfrecord",
        CorruptRecordError,
        "data CRC mismatch",
        "bad_crc.tfrecord",
        {"record_index": 1, "offset": 434},
    ),
    "huge length prefix": Case(
        "huge_length.tfrecord",
        "tfrecord",
        CorruptRecordError,
        "length prefix 1099511627776 is larger than the 16 data bytes that remain",
        "huge_length.tfrecord",
        {"record_index": 1, "offset": 434},
    ),
    "wrong wire type": Case(
        "wrong_wire_type.tfrecord",
        "tfrecord",
        ExampleDecodeError,
        "invalid wire type 7",
        "wrong_wire_type.tfrecord",
        {"record_index": 1, "offset": 9},
    ),
    "NaN boxes": Case(
        "nan_boxes.tfrecord",
        "tfrecord",
        FormatError,
        "object 1: image/object/bbox/xmin is nan, not a finite number",
        "nan_boxes.tfrecord",
        {"record_index": 1},
    ),
    "xmin > xmax": Case(
        "xmin_gt_xmax.tfrecord",
        "tfrecord",
        FormatError,
        "object 1: xmin > xmax (0.9 > 0.3)",
        "xmin_gt_xmax.tfrecord",
        {"record_index": 2},
    ),
    "per-object lists disagree": Case(
        "list_lengths.tfrecord",
        "tfrecord",
        FormatError,
        "image/object/class/label has 3 values for 2 objects",
        "list_lengths.tfrecord",
        {"record_index": 0},
    ),
    "broken pbtxt": Case(
        "good.tfrecord",
        "tfrecord",
        LabelMapError,
        "string is not closed on its line",
        "broken.pbtxt",
        {"line": 7},
        {"label_map": "broken.pbtxt"},
    ),
    "duplicate label ids": Case(
        "good.tfrecord",
        "tfrecord",
        LabelMapError,
        "label id 1 is used twice",
        "duplicate_ids.pbtxt",
        {"line": 2},
        {"label_map": "duplicate_ids.pbtxt"},
    ),
    "label not in map": Case(
        "voc_label_not_in_map",
        "voc",
        FormatError,
        "label 'truck' is not in the label map",
        "voc_label_not_in_map/Annotations/000001.xml",
        {"line": 4},
        {"label_map": "voc_label_not_in_map/label_map.pbtxt"},
    ),
    "broken VOC XML": Case(
        "voc_broken_xml",
        "voc",
        FormatError,
        "not well-formed XML: Opening and ending tag mismatch",
        "voc_broken_xml/Annotations/000001.xml",
        {"line": 3},
    ),
    "NaN in VOC XML": Case(
        "voc_nan_box",
        "voc",
        FormatError,
        "<xmin> is 'nan', not a finite number",
        "voc_nan_box/Annotations/000001.xml",
        {"line": 4},
    ),
    "broken CVAT XML": Case(
        "cvat_broken.xml",
        "cvat",
        FormatError,
        "not well-formed XML: Opening and ending tag mismatch",
        "cvat_broken.xml",
        {"line": 6},
    ),
    "CVAT XML with an external entity": Case(
        "cvat_xxe.xml", "cvat", FormatError, "external entity 'secret'", "cvat_xxe.xml", {"line": 3}
    ),
    "COCO JSON with missing keys": Case(
        "coco_missing_keys",
        "coco",
        FormatError,
        "image entry without id, file_name, width or height: {'id': 2",
        "coco_missing_keys/annotations/instances_default.json",
    ),
    "zip with ../": Case(
        "zip_slip.zip",
        "cvat-tfrecord",
        UnsafeArchiveError,
        "member '../evil.tfrecord' points outside the archive",
        "zip_slip.zip",
    ),
    "zip with an absolute path": Case(
        "zip_absolute.zip",
        "cvat-tfrecord",
        UnsafeArchiveError,
        "member '/tmp/evil.tfrecord' points outside the archive",
        "zip_absolute.zip",
    ),
    "zip with a symlink": Case(
        "zip_symlink.zip",
        "cvat-tfrecord",
        UnsafeArchiveError,
        "member 'default.tfrecord' is a symbolic link",
        "zip_symlink.zip",
    ),
    "zip with a duplicate name": Case(
        "zip_duplicate.zip",
        "cvat-tfrecord",
        UnsafeArchiveError,
        "member 'default.tfrecord' appears twice",
        "zip_duplicate.zip",
    ),
    "zip bomb": Case(
        "zip_bomb.zip",
        "cvat-tfrecord",
        UnsafeArchiveError,
        "member 'default.tfrecord' compresses 1029:1, beyond 1000:1",
        "zip_bomb.zip",
    ),
}


def test_committed_files_are_what_the_script_makes(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it is asked to write
        make_bad_corpus.build(tmp_path)
    made = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    assert made
    for relative in made:
        assert filecmp.cmp(tmp_path / relative, BAD / relative, shallow=False), f"tests/bad/{relative} is stale"


def test_every_case_has_its_file() -> None:
    for case in CASES.values():
        assert (BAD / case.source).exists(), case.source


def _options(case: Case) -> dict[str, Any]:
    return {name: str(BAD / value) for name, value in case.options.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_library_raises_the_typed_error_with_the_place(name: str) -> None:
    case = CASES[name]
    with pytest.raises(TfodError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in read_dataset(str(BAD / case.source), case.fmt, **_options(case)):
            pass
    error = caught.value
    assert type(error) is case.error, f"{type(error).__name__}: {error}"
    assert case.fragment in error.message
    assert error.path is not None and Path(error.path) == BAD / case.where
    for attribute, value in case.place.items():
        assert getattr(error, attribute) == value, f"{attribute} of {error!s}"


@pytest.mark.parametrize("name", list(CASES))
def test_cli_prints_one_line_and_exits_2(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    target = tmp_path / "out" / "converted.tfrecord"
    arguments = ["convert", str(BAD / case.source), str(target), "--from", case.fmt, "--to", "tfrecord", "-q"]
    for option, value in _options(case).items():
        arguments += ["--" + option.replace("_", "-"), value]
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    errors = [line for line in lines if not line.startswith("tfod: warning:")]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"tfod: error: {BAD / case.where}: ")
    assert case.fragment in errors[0]
    for attribute, value in case.place.items():
        label = {"record_index": "record", "offset": "byte", "line": "line"}[attribute]
        assert f"{label} {value}" in errors[0]
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file, not even the output's folder


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    """The real process: `python -m tfodkit` (what the `tfod` script runs), no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfodkit",
            "convert",
            str(BAD / "bad_crc.tfrecord"),
            str(tmp_path / "o.tfrecord"),
            "--to",
            "tfrecord",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    expected = f"tfod: error: {BAD / 'bad_crc.tfrecord'}: record 1, byte 434: data CRC mismatch"
    assert result.stderr.splitlines() == [expected]
    assert not list(tmp_path.iterdir())
