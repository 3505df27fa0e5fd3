"""Every command that writes follows the output rule of ``convert``: an output that exists and is not empty needs
``--overwrite``, an output that is, holds or lies inside an input is always refused, and a refused run leaves
everything as it was (``tfod repair``, ``stats --plot``, ``preview -o``, ``index``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import run

from tfodkit import convert
from tfodkit.index import index_path_for, read_index
from tfodkit.records import RecordWriter
from tfodkit.samples import make_cvat_dataset


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records")
    xml = make_cvat_dataset(folder / "cvat", images=3)
    target = folder / "out" / "all.tfrecord"
    convert(str(xml), str(target), from_format="cvat", to_format="tfrecord", write_options={"save_images": True})
    return target


def _plain_records(path: Path, count: int) -> Path:
    with RecordWriter(str(path)) as writer:
        for number in range(count):
            writer.write(b"record %d" % number)
    return path


def test_repair_refuses_an_existing_target_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _plain_records(tmp_path / "in.tfrecord", 3)
    target = tmp_path / "out.tfrecord"
    target.write_bytes(b"precious")
    assert run("repair", str(source), str(target)) == 2
    assert "exists; --overwrite replaces it" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"
    assert run("repair", str(source), str(target), "--overwrite") == 0
    assert target.read_bytes() == source.read_bytes()
    assert run("repair", str(source), str(source), "--overwrite") == 2  # the input itself: never
    assert "is the input" in capsys.readouterr().err


def test_stats_plot_folder_rules(records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    (charts / "notes.txt").write_text("mine")
    assert run("stats", str(records), "--plot", str(charts), "--json") == 2
    assert "exists; --overwrite replaces it" in capsys.readouterr().err
    assert sorted(path.name for path in charts.iterdir()) == ["notes.txt"]
    assert run("stats", str(records), "--plot", str(charts), "--json", "--overwrite") == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(path.name for path in charts.iterdir()) == sorted(Path(chart).name for chart in document["charts"])
    assert "notes.txt" not in {path.name for path in charts.iterdir()}  # replaced as a whole, as --overwrite said
    assert run("stats", str(records), "--plot", str(records.parent / "charts"), "--overwrite") == 0  # beside: fine
    assert run("stats", str(records.parent), "--plot", str(records.parent / "charts2"), "--overwrite") == 2
    assert "lies inside the input" in capsys.readouterr().err
    assert not (records.parent / "charts2").exists()


def test_preview_into_its_input_is_refused(records: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("preview", str(records.parent), "-o", str(records.parent / "preview")) == 2
    assert "lies inside the input" in capsys.readouterr().err
    assert not (records.parent / "preview").exists()


def test_index_keeps_an_up_to_date_index_rewrites_a_stale_one_and_refuses_a_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _plain_records(tmp_path / "a.tfrecord", 2)
    second = _plain_records(tmp_path / "b.tfrecord", 3)
    assert run("index", str(first), "-q") == 0
    index = Path(index_path_for(first))
    before = index.stat().st_mtime_ns
    assert run("index", str(first), "-q") == 0
    assert index.stat().st_mtime_ns == before  # up to date: left alone
    _plain_records(first, 4)  # the records changed: the index is stale
    assert run("index", str(first), "-q") == 0
    assert len(read_index(index)) == 4
    foreign = Path(index_path_for(second))
    foreign.write_text("my notes, not an index\n")
    assert run("index", str(first), str(second), "-q") == 2
    assert "b.tfrecord.idx exists; --overwrite replaces it" in capsys.readouterr().err
    assert foreign.read_text() == "my notes, not an index\n"
    assert run("index", str(first), str(second), "-q", "--overwrite") == 0
    assert len(read_index(foreign)) == 3
