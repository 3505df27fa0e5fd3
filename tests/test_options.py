"""Formats own their options: declarations match the readers/writers, the CLI's flags come from them, an option
that does not apply is a UsageError naming it and the format, and docs/formats.md lists every one."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from _cli import run

import tfodkit
from tfodkit.cli import convert as cli_convert
from tfodkit.errors import UsageError
from tfodkit.formats import Option, check_options, format_names, get_format
from tfodkit.formats._doc import formats_markdown
from tfodkit.samples import make_cvat_dataset
from tfodkit.transforms import transform_names

DOC = Path(__file__).resolve().parents[1] / "docs" / "formats.md"
PIPELINE_KEYWORDS = {"workers", "overwrite"}  # passed by the pipeline to the writers that take it, not a format option


@pytest.fixture
def cvat_xml(tmp_path: Path) -> Path:
    return make_cvat_dataset(tmp_path / "cvat", images=2)


def _help(command: str) -> str:
    return click.Context(cli_convert.COMMANDS[[c.name for c in cli_convert.COMMANDS].index(command)]).get_help()


def _flags(command: str) -> set[str]:
    found = set()
    for command_ in cli_convert.COMMANDS:
        if command_.name == command:
            for parameter in command_.params:
                found.update(parameter.opts + parameter.secondary_opts)
    return found


@pytest.mark.parametrize("name", format_names())
def test_declarations_are_the_keywords_of_read_and_write(name: str) -> None:
    info = get_format(name)
    for function, declared in (
        (getattr(info.module, "read", None), info.read_options),
        (getattr(info.module, "write", None), info.write_options),
    ):
        if function is None:
            assert declared == ()
            continue
        parameters = {p.name: p for p in inspect.signature(function).parameters.values() if p.kind == p.KEYWORD_ONLY}
        names = [option.name for option in declared]
        assert len(names) == len(set(names))
        assert sorted(names) == sorted(n for n in parameters if n not in PIPELINE_KEYWORDS)
        for option in declared:  # the documented default is the real one
            assert parameters[option.name].default == option.default, (name, option.name)
            assert option.type in (str, int, bool) and option.flag.startswith("--")


def test_workers_is_taken_by_the_tfrecord_writers_only() -> None:
    assert [name for name in format_names() if get_format(name).uses_workers] == ["cvat-tfrecord", "tfrecord"]
    assert "used by the cvat-tfrecord, tfrecord writers" in " ".join(_help("convert").split())


def test_each_command_lists_the_options_of_the_formats_it_can_involve() -> None:
    every = {
        option.flag
        for name in format_names()
        for option in (*get_format(name).read_options, *get_format(name).write_options)
    }
    assert every <= _flags("convert") and every <= _flags("transform")
    imports = _flags("import")
    for flag in (
        "--year",
        "--set",
        "--annotations-dir",
        "--ignore-difficult",
        "--subset",
        "--include-masks",
        "--input-layout",
    ):
        assert flag not in imports  # VOC, COCO and YOLO read options: import reads cvat-tfrecord only
    assert {"--label-map", "--images", "--layout", "--shards", "--save-images"} <= imports
    exports = _flags("export")
    for flag in ("--layout", "--shards", "--shard-size", "--compression", "--numerical-masks"):
        assert flag not in exports  # export writes cvat-tfrecord only
    assert {"--year", "--subset", "--save-images", "--no-save-images", "--workers", "--strict"} <= exports
    assert "(reading voc)" in " ".join(_help("export").split())


def test_transform_help_lists_every_transform() -> None:
    text = " ".join(_help("transform").split())
    for name in transform_names():
        assert name in text


def test_a_new_option_in_a_format_module_becomes_a_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    module = get_format("yolo").module
    added = Option("label_prefix", str, help="Prefix every class name.")
    monkeypatch.setattr(module, "WRITE_OPTIONS", (*module.WRITE_OPTIONS, added))
    flags = {flag for option in cli_convert._format_flags([], ["yolo"]) for flag in option.opts}
    assert "--label-prefix" in flags
    check_options(get_format("yolo"), {"label_prefix": "x"}, "write")  # accepted now


def test_a_flag_declared_twice_differently_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    module = get_format("coco").module
    monkeypatch.setattr(module, "WRITE_OPTIONS", (Option("year", int, help="clash"),))
    with pytest.raises(RuntimeError, match="--year is declared twice"):
        cli_convert._format_flags(["voc"], ["coco"])


def test_an_option_the_format_does_not_take_is_a_usage_error(tmp_path: Path, cvat_xml: Path) -> None:
    with pytest.raises(UsageError, match=r"--year does not apply when reading cvat \(its read options: --images\)"):
        tfodkit.convert(
            str(cvat_xml),
            str(tmp_path / "o.tfrecord"),
            from_format="cvat",
            to_format="tfrecord",
            read_options={"year": "VOC2007"},
        )
    with pytest.raises(UsageError, match="--layout does not apply when writing coco"):
        tfodkit.convert(
            str(cvat_xml),
            str(tmp_path / "coco"),
            from_format="cvat",
            to_format="coco",
            write_options={"layout": "darknet"},
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cvat"]  # refused before anything was written


def test_cli_names_the_option_and_the_format(
    tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", str(cvat_xml), str(tmp_path / "coco"), "--from", "cvat", "--to", "coco", "--shards", "2") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tfod: error: --shards does not apply when writing coco (its write options:")
    assert len(error.splitlines()) == 1
    assert run("convert", str(cvat_xml), str(tmp_path / "t.tfrecord"), "--to", "tfrecord", "--subset", "x") == 2
    assert "--subset does not apply when reading cvat" in capsys.readouterr().err  # also when --from is detected
    assert not (tmp_path / "coco").exists() and not (tmp_path / "t.tfrecord").exists()
    assert run("import", str(cvat_xml), str(tmp_path / "x"), "--to", "coco", "--year", "VOC2007") == 2
    assert "No such option '--year'" in capsys.readouterr().err


def test_format_flags_reach_the_reader_and_the_writer(tmp_path: Path, cvat_xml: Path) -> None:
    darknet = tmp_path / "darknet"
    assert (
        run("convert", str(cvat_xml), str(darknet), "--from", "cvat", "--to", "yolo", "--layout", "darknet", "-q") == 0
    )
    assert (darknet / "obj.data").is_file()
    out = tmp_path / "back.tfrecord"
    assert (
        run(
            "convert",
            str(darknet),
            str(out),
            "--from",
            "yolo",
            "--input-layout",
            "darknet",
            "--to",
            "tfrecord",
            "--compression",
            "gzip",
            "--no-save-images",
            "-q",
        )
        == 0
    )
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert (
        run(
            "convert",
            str(darknet),
            str(tmp_path / "u.tfrecord"),
            "--from",
            "yolo",
            "--input-layout",
            "ultralytics",
            "--to",
            "tfrecord",
            "-q",
        )
        == 2
    )  # the layout really went to the reader


def test_formats_doc_is_generated_from_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == formats_markdown(), "docs/formats.md is stale: python -m tfodkit.formats._doc > docs/formats.md"
    for name in format_names():
        info = get_format(name)
        assert f"## `{name}`" in text
        for option in (*info.read_options, *info.write_options):
            assert f"| `{option.flag}` | `{option.name}` |" in text
