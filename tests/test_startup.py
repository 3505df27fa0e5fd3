"""Fast start: `tfod --help` and `tfod info small.tfrecord` import only what they need (never timed here).

What each process imported is read from ``sys.modules`` by a small wrapper script run in a subprocess; the
timings are bench/bench_startup.py's. Also here: the command table of ``tfod --help`` agrees with the commands,
the registry's by-name format detection agrees with the formats' own ``detect()``, and the plain table printer
writes what rich writes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from tfodkit.cli import COMMANDS, app
from tfodkit.cli.render import WIDTH, PlainConsole, TableSpec
from tfodkit.formats import _FILE_NAMES, format_names, get_format
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects

SRC = Path(__file__).resolve().parents[1] / "src"
# heavy modules a cheap command must not import; `click.shell_completion` is click's heavy part (only for completion)
HEAVY = ("numpy", "PIL", "lxml", "rich", "fsspec", "ijson", "yaml", "click.shell_completion")

# Runs `tfod ARGS…` in this process, then prints which of HEAVY it imported, as JSON on stderr's last line.
WRAPPER = """
import json, sys
from tfodkit.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    code = done.code
else:
    code = 0
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {heavy} or name in {heavy})
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def _imports(*arguments: str) -> tuple[int, list[str], str]:
    """(exit status, heavy modules imported, stdout) of `tfod ARGUMENTS…` in a fresh process, output piped."""
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    script = WRAPPER.format(heavy=repr(set(HEAVY)))
    process = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    report = json.loads(process.stderr.strip().splitlines()[-1])
    return report["code"], report["heavy"], process.stdout


@pytest.fixture
def small_record(tmp_path: Path) -> Path:
    from tfodkit.formats import tfod

    items = [Item("a", ImageRef("a.jpg", width=8, height=8), Objects.from_boxes([[0, 0, 4, 4]], [1]))]
    path = tmp_path / "small.tfrecord"
    tfod.write(Dataset(items, LabelMap.from_names(["cat"])), str(path), save_images=False)
    return path


def test_help_imports_no_command_module_and_nothing_heavy() -> None:
    code, heavy, output = _imports("--help")
    assert code == 0 and heavy == []
    assert "info       Describe a dataset: files, shards, compression, records per..." in output


def test_info_on_a_small_record_file_imports_nothing_heavy(small_record: Path) -> None:
    code, heavy, output = _imports("info", str(small_record))
    assert code == 0 and heavy == []
    assert "small.tfrecord (tfrecord): 1 records, 1 objects" in output
    assert "Labels used by objects: 1" in output
    code, heavy, output = _imports("info", str(small_record), "--json")
    assert code == 0 and heavy == []
    assert json.loads(output)["labels_in_records"] == {"cat": 1}


def test_info_counts_objects_and_labels_as_before(tmp_path: Path) -> None:
    # the fast path counts boxes and label ids from their packed bytes: the figures a full decode gives
    from tfodkit.example import encode_example
    from tfodkit.inspection import dataset_info
    from tfodkit.labelmap import format_label_map
    from tfodkit.records import RecordWriter

    records: list[dict[str, list[Any]]] = [
        {"image/object/bbox/xmin": [0.0, 0.1], "image/object/class/label": [1, 300]},  # ids only; 300: 2 bytes
        {"image/object/bbox/xmin": [0.5], "image/object/class/text": [b"dog"], "image/object/class/label": [1]},
        {"image/width": [8]},  # no objects
    ]
    path = tmp_path / "bare.tfrecord"
    with RecordWriter(str(path)) as writer:
        for features in records:
            writer.write(encode_example(features))
    label_map = tmp_path / "labels.pbtxt"
    label_map.write_text(format_label_map(LabelMap.from_names(["cat", "dog"])))
    report = dataset_info(str(path), label_map=str(label_map))
    assert (report.records, report.objects, report.objects_per_subset) == (3, 3, {"bare": 3})
    assert dict(report.labels_in_records) == {"cat": 1, "label_300": 1, "dog": 1}


def test_the_help_table_is_each_commands_first_docstring_line() -> None:
    # `tfod --help` shows COMMANDS' lines without importing the commands: they must not drift from the docstrings
    context = click.Context(app)
    for name, (module, first_line) in COMMANDS.items():
        command = app.get_command(context, name)
        assert command is not None and command.name == name
        assert command.callback is not None and command.callback.__module__ == module
        assert command.help is not None and command.help.split("\n\n")[0] == first_line, name
    names = {command.name for module in {m for m, _ in COMMANDS.values()} for command in _module_commands(module)}
    assert names == set(COMMANDS)  # every command a module defines is in the table


def _module_commands(module: str) -> list[click.Command]:
    import importlib

    return list(importlib.import_module(module).COMMANDS)


def test_help_lists_the_commands_as_click_would() -> None:
    # what a plain click group with the imported commands prints: same names, same shortened lines
    context = click.Context(app, info_name="tfod")
    commands = [app.get_command(context, name) for name in COMMANDS]
    plain = click.Group("tfod", commands=[command for command in commands if command is not None])
    expected = click.Context(plain, info_name="tfod", max_content_width=110).get_help().split("Commands:")[1]
    shown = click.Context(app, info_name="tfod", max_content_width=110).get_help().split("Commands:")[1]
    assert shown == expected


def test_a_mistyped_command_gets_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    from _cli import run

    assert run("infx") == 2
    assert "No such command 'infx'." in capsys.readouterr().err
    if hasattr(click.exceptions, "NoSuchCommand"):  # click >= 8.4 suggests close names
        run("infx")
        assert "Did you mean one of: 'index', 'info'?" in capsys.readouterr().err


NAMES = [
    "a.tfrecord",
    "a.record",
    "a.tfrecords",
    "a.tfrecord.gz",
    "a-00000-of-00002.tfrecord",
    "a.zip",
    "A.ZIP",
    "a.xml",
    "A.XML",
    "a.json",
    "instances_train.json",
    "obj.data",
    "data.yaml",
    "data.YML",
    "a.txt",
    "a.jpg",
    "a",
]


@pytest.mark.parametrize("name", NAMES)
def test_detection_by_name_agrees_with_each_formats_detect(tmp_path: Path, name: str) -> None:
    # a file the by-name look refuses (False) or accepts (True) is one the format's detect() refuses or accepts
    import zipfile

    path = tmp_path / name
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("train.tfrecord", b"")
            archive.writestr("annotations.xml", b"<annotations/>")
    elif name.lower().endswith(".xml"):
        path.write_text("<annotations><meta/></annotations>")
    elif name.endswith(".json"):
        path.write_text('{"images": [], "annotations": [], "categories": []}')
    elif name.lower().endswith((".yaml", ".yml")):
        path.write_text("names: [cat]\n")
    else:
        path.write_bytes(b"names = obj.names\n")
    for format_name in format_names():
        by_name = _FILE_NAMES[format_name](name)
        if by_name is not None:
            assert get_format(format_name).module.detect(str(path)) == by_name, (format_name, name)


TABLES = [
    TableSpec("Files", ("file", "subset", "size", "records"), [("a/b.tfrecord", "train", "1.2 KB", 3)], right=(2, 3)),
    TableSpec(None, ("", "A", "B"), [("path", "x.tfrecord", "y"), ("items", 3, 40000)]),
    TableSpec("Subsets", ("subset", "records", "objects"), [], right=(1, 2)),
    TableSpec("A title longer than the table", ("k", "v"), [("a", 1)]),  # rich wraps the title: rich draws it
    TableSpec("Keys", ("key", "types"), [("image/[x]", "bytes 1")]),  # markup-like text: rich draws it
    TableSpec("Wide", ("a", "b"), [("x" * 100, "y" * 100)]),  # wider than WIDTH: rich folds it
    TableSpec("Labels", ("name", "n"), [("caf\u00e9", 1)]),  # not ASCII: rich draws it
]


@pytest.mark.parametrize("what", [*TABLES, "[bold]a.tfrecord[/] (tfrecord): 3 records", "[red]error: x[/]", "é"])
def test_the_plain_console_prints_what_rich_prints(what: str | TableSpec) -> None:
    from rich.console import Console

    expected = io.StringIO()
    Console(file=expected, highlight=False, soft_wrap=False, width=WIDTH).print(
        what.to_rich() if isinstance(what, TableSpec) else what
    )
    shown = io.StringIO()
    PlainConsole(shown).print(what)
    assert shown.getvalue() == expected.getvalue()
