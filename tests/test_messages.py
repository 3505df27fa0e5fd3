"""What `tfod` says when something is wrong: the missing input, the wrong command, the unwritable target, the
real option names — each on one line, exit status 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _cli import run

from tfodkit.cli import os_error_text
from tfodkit.formats import tfod
from tfodkit.model import Dataset

SRC = Path(__file__).resolve().parents[1] / "src" / "tfodkit"


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("tfod: error: ") and "\n" not in error, error
    return error


@pytest.mark.parametrize(
    "command",
    [
        ["convert", "{missing}", "{out}", "--to", "coco"],
        ["validate", "{missing}"],
        ["info", "{missing}"],
        ["stats", "{missing}"],
    ],
)
def test_a_missing_input_says_it_does_not_exist(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothere.tfrecord"
    arguments = [part.format(missing=missing, out=tmp_path / "out") for part in command]
    assert run(*arguments) == 2
    error = _error(capsys)
    assert f"{missing}: no such file or folder" in error and "--from" not in error
    assert not (tmp_path / "out").exists()


def test_import_of_a_bare_record_file_points_at_convert(
    tmp_path: Path, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(record), save_images=False)
    assert run("import", str(record), str(tmp_path / "out"), "--to", "coco") == 2
    error = _error(capsys)
    assert f"tfod convert {record} {tmp_path / 'out'} --to coco" in error
    assert not (tmp_path / "out").exists()
    # and the command it names works
    assert run("convert", str(record), str(tmp_path / "out"), "--to", "coco", "-q") == 0


def test_an_unwritable_output_names_the_target_not_a_temporary_file(
    tmp_path: Path, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(record), save_images=False)
    # /proc takes no new files, even for root (a chmod'ed folder would not stop root)
    assert run("convert", str(record), "/proc/tfodkit-test-out.json", "--to", "coco") == 2
    error = _error(capsys)
    assert "cannot write /proc/tfodkit-test-out.json" in error and "tfodkit-partial" not in error
    assert os_error_text(PermissionError(13, "Permission denied", "/ro/o.tfodkit-partial-1-ab")) == (
        "cannot write /ro/o: Permission denied"
    )
    assert os_error_text(FileNotFoundError(2, "No such file or directory", "in.json")) == (
        "in.json: No such file or directory"
    )


def _messages() -> list[tuple[str, int, str]]:
    """Every string literal that is part of a raise, warning or loss report in src/ (file, line, text)."""
    found = []
    pattern = re.compile(r"(raise \w+\(|warn\w*\(|report_loss\(|warnings\.warn\(|click\.echo\()")
    for path in sorted(SRC.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if pattern.search(line):
                statement = " ".join(lines[number - 1 : number + 4])  # messages continue on the next lines
                for text in re.findall(r"f?\"([^\"]*)\"", statement):
                    text = re.sub(r"\{[^}]*\}", "{}", text)  # interpolated values are not words of the message
                    if " " in text:  # a sentence, not a dict key or a name
                        found.append((str(path.relative_to(SRC)), number, text))
    return found


def test_messages_name_cli_flags_not_python_keywords() -> None:
    options = {
        "include_masks",
        "save_images",
        "images_dir",
        "label_map",
        "numerical_masks",
        "on_error",
        "target_labels",
        "shard_size",
        "annotations_dir",
        "ignore_difficult",
        "max_findings",
    }
    allowed = {"torch.py"}  # tfodkit.torch has no CLI: its messages name its Python arguments
    bad = [
        (file, line, text)
        for file, line, text in _messages()
        if file not in allowed and any(re.search(rf"(?<![-/.\w]){name}\b(?!\.pbtxt)", text) for name in options)
    ]
    assert not bad, bad
    assert not [m for m in _messages() if "--images-dir" in m[2]]


def test_no_known_typos_in_the_code_and_docs() -> None:
    root = SRC.parents[1]
    typos = re.compile(r"\b(writeing|writting|recieve|occured|seperate|lenght|heigth|existant|succesful)\b", re.I)
    files = [*SRC.rglob("*.py"), *root.glob("*.md"), *(root / "docs").rglob("*.md")]
    hits = [f"{path}:{text}" for path in files for text in typos.findall(path.read_text(encoding="utf-8"))]
    assert not hits, hits
