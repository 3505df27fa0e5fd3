"""Apache Beam: `tfod convert --runner beam` writes the same records as the local path.

Runs where apache-beam is installed (``make beam-test``, in .venv-beam). Runners: FnApiRunner (tfodkit's default,
what "DirectRunner" falls back to after trying to download the Prism binary) and BundleBasedDirectRunner (Beam's
Python DirectRunner); neither downloads anything.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("apache_beam")

from tfodkit.cli import main  # noqa: E402
from tfodkit.formats import tfod  # noqa: E402
from tfodkit.model import Dataset  # noqa: E402
from tfodkit.pipeline import read_dataset  # noqa: E402
from tfodkit.records import read_records  # noqa: E402
from tfodkit.samples import make_cvat_dataset  # noqa: E402


def run(*arguments: str) -> int:
    try:
        main(list(arguments))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def record_files(folder: Path) -> dict[str, Counter[bytes]]:
    """{file name: multiset of its records}; label maps as {name: Counter({text: 1})}."""
    out: dict[str, Counter[bytes]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".pbtxt"):
            out[path.name] = Counter([path.read_bytes()])
        else:
            out[path.name] = Counter(read_records(str(path)))
    return out


def all_records(folder: Path) -> Counter[bytes]:
    total: Counter[bytes] = Counter()
    for path in folder.glob("*.tfrecord*"):
        total.update(read_records(str(path)))
    return total


@pytest.fixture
def cvat_xml(tmp_path: Path) -> Path:
    return make_cvat_dataset(tmp_path / "cvat", images=7)


# FnApiRunner with 2 SDK worker processes; BundleBasedDirectRunner is Beam's Python DirectRunner without the
# Prism download that "DirectRunner" tries first.
@pytest.mark.parametrize(("runner", "workers"), [("FnApiRunner", "2"), ("BundleBasedDirectRunner", "1")])
def test_sharded_output_holds_exactly_the_local_records(
    tmp_path: Path, cvat_xml: Path, runner: str, workers: str
) -> None:
    common = ["--from", "cvat", "--to", "tfrecord", "--shards", "3", "--save-images", "-q"]
    assert run("convert", str(cvat_xml), str(tmp_path / "local" / "all.tfrecord"), *common, "--workers", "1") == 0
    assert (
        run(
            "convert",
            str(cvat_xml),
            str(tmp_path / "beam" / "all.tfrecord"),
            *common,
            "--runner",
            "beam",
            "--beam-option",
            f"runner={runner}",
            "--workers",
            workers,
        )
        == 0
    )
    local, beam = tmp_path / "local", tmp_path / "beam"
    assert sorted(path.name for path in beam.iterdir()) == sorted(path.name for path in local.iterdir())
    assert all_records(beam) == all_records(local)
    assert sum(all_records(beam).values()) == 7
    assert (beam / "label_map.pbtxt").read_bytes() == (local / "label_map.pbtxt").read_bytes()


def test_folder_output_per_subset_with_masks_equals_local(tmp_path: Path, cvat_xml: Path) -> None:
    common = ["--from", "cvat", "--to", "tfrecord", "--masks", "all", "--save-images", "-q"]
    assert run("convert", str(cvat_xml), str(tmp_path / "local"), *common, "--workers", "1") == 0
    assert run("convert", str(cvat_xml), str(tmp_path / "beam"), *common, "--runner", "beam", "--workers", "1") == 0
    local = record_files(tmp_path / "local")
    assert sorted(local) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]
    assert record_files(tmp_path / "beam") == local
    masked = [item for item in tfod.read(str(tmp_path / "beam")) if item.objects.has_masks]
    assert masked, "the mask transforms ran in the Beam pipeline"


def test_gzip_output_and_a_tfrecord_input(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "in" / "data.tfrecord"))
    common = ["--from", "tfrecord", "--to", "tfrecord", "--compression", "gzip", "--shards", "2", "-q"]
    source = str(tmp_path / "in" / "data.tfrecord")
    assert run("convert", source, str(tmp_path / "local" / "x.tfrecord.gz"), *common, "--workers", "1") == 0
    assert (
        run("convert", source, str(tmp_path / "beam" / "x.tfrecord.gz"), *common, "--runner", "beam", "--workers", "1")
        == 0
    )
    names = sorted(path.name for path in (tmp_path / "beam").iterdir())
    assert names == ["label_map.pbtxt", "x-00000-of-00002.tfrecord.gz", "x-00001-of-00002.tfrecord.gz"]
    assert (tmp_path / "beam" / names[1]).read_bytes()[:2] == b"\x1f\x8b"
    assert all_records(tmp_path / "beam") == all_records(tmp_path / "local")


def test_json_report_counts_come_from_beam_metrics(
    tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    common = ["--from", "cvat", "--to", "tfrecord", "--json"]
    assert run("convert", str(cvat_xml), str(tmp_path / "local.tfrecord"), *common, "--workers", "1") == 0
    local = json.loads(capsys.readouterr().out)
    assert (
        run(
            "convert",
            str(cvat_xml),
            str(tmp_path / "beam" / "b.tfrecord"),
            *common,
            "--runner",
            "beam",
            "--workers",
            "1",
        )
        == 0
    )
    beam = json.loads(capsys.readouterr().out)
    for key in ("items", "objects", "labels", "items_per_subset", "objects_per_label"):
        assert beam[key] == local[key], key


def test_target_labels_retarget_as_locally(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    common = ["--from", "cvat", "--to", "tfrecord", "--target-labels", "person,car", "--json", "--workers", "1"]
    assert run("convert", str(cvat_xml), str(tmp_path / "local" / "all.tfrecord"), *common) == 0
    local = json.loads(capsys.readouterr().out)
    assert run("convert", str(cvat_xml), str(tmp_path / "beam" / "all.tfrecord"), *common, "--runner", "beam") == 0
    beam = json.loads(capsys.readouterr().out)
    assert local["unmatched_labels"] and beam["unmatched_labels"] == local["unmatched_labels"]
    assert record_files(tmp_path / "beam") == record_files(tmp_path / "local")


def test_the_python_api_in_a_pipeline(tmp_path: Path, cvat_xml: Path) -> None:
    import apache_beam as beam

    from tfodkit.beam import ConvertToTFRecords

    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | ConvertToTFRecords(str(cvat_xml), str(tmp_path / "api" / "all.tfrecord"), from_format="cvat")
    tfod.write(read_dataset(str(cvat_xml), "cvat"), str(tmp_path / "local" / "all.tfrecord"))
    assert record_files(tmp_path / "api") == record_files(tmp_path / "local")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--to", "cvat", "--runner", "beam"], "writes TFRecords"),
        (["--to", "tfrecord", "--runner", "beam", "--shard-size", "1000"], "--shard-size"),
        (["--to", "tfrecord", "--beam-option", "runner=DirectRunner"], "needs --runner beam"),
        (["--to", "tfrecord", "--runner", "beam", "--beam-option", "runner"], "KEY=VALUE"),
    ],
)
def test_usage_errors(
    tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert (
        run("convert", str(cvat_xml), str(tmp_path / "out.tfrecord"), "--from", "cvat", "--workers", "1", *extra) == 2
    )
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.tfrecord").exists()


# ------------------------------------------------------------------------------ output rules, --clip, losses, --strict
BEAM = ["--runner", "beam", "--workers", "1"]


def test_output_rules_are_the_local_ones(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "all.tfrecord"
    target.parent.mkdir()
    target.write_bytes(b"precious")
    common = ["--from", "cvat", "--to", "tfrecord", "-q", *BEAM]
    assert run("convert", str(cvat_xml), str(target), *common) == 2
    assert "exists; --overwrite replaces it" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"
    assert run("convert", str(cvat_xml), str(target), *common, "--overwrite") == 0
    assert sum(1 for _ in read_records(str(target))) == 7
    records = tmp_path / "records"
    assert run("convert", str(cvat_xml), str(records), "--from", "cvat", "--to", "tfrecord", "-q") == 0
    inside = records / "again" / "all.tfrecord"
    again = ["--from", "tfrecord", "--to", "tfrecord", *BEAM, "--overwrite"]
    assert run("convert", str(records), str(inside), *again) == 2
    assert "lies inside the input" in capsys.readouterr().err
    assert not inside.parent.exists()


def _with_a_box_outside(cvat_xml: Path) -> Path:
    import re

    text = cvat_xml.read_text(encoding="utf-8")
    text = re.sub(r'xbr="[0-9.]+"', 'xbr="400.0"', text, count=1)  # the images are 160 wide
    cvat_xml.write_text(text, encoding="utf-8")
    return cvat_xml


def test_clip_and_losses_as_locally(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    source = str(_with_a_box_outside(cvat_xml))
    common = ["--from", "cvat", "--to", "tfrecord", "--json"]
    assert run("convert", source, str(tmp_path / "no" / "all.tfrecord"), *common, *BEAM) == 2  # no --clip: an error
    assert "--clip" in capsys.readouterr().err
    assert run("convert", source, str(tmp_path / "local" / "all.tfrecord"), *common, "--clip", "--workers", "1") == 0
    local = json.loads(capsys.readouterr().out)
    assert run("convert", source, str(tmp_path / "beam" / "all.tfrecord"), *common, "--clip", *BEAM) == 0
    captured = capsys.readouterr()
    beam = json.loads(captured.out)
    assert local["losses"]["box_clipped"] == 1 and local["losses"]["polygon_as_box"] > 0
    assert beam["losses"] == local["losses"]
    assert "tfod: lost: 1 boxes" in captured.err or "tfod: lost: 1 " in captured.err
    assert record_files(tmp_path / "beam") == record_files(tmp_path / "local")


def test_strict_removes_what_the_run_wrote(tmp_path: Path, cvat_xml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    common = ["--from", "cvat", "--to", "tfrecord", "-q", "--strict", *BEAM]
    assert run("convert", str(cvat_xml), str(out / "all.tfrecord"), *common) == 2  # polygons kept as boxes only
    assert "--strict:" in capsys.readouterr().err
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]
    assert run("convert", str(cvat_xml), str(tmp_path / "folder"), *common) == 2
    assert not (tmp_path / "folder").exists()
    records = tmp_path / "records.tfrecord"
    assert run("convert", str(cvat_xml), str(records), "--from", "cvat", "--to", "tfrecord", "-q") == 0
    assert run("convert", str(records), str(out / "all.tfrecord"), *common[:1], "tfrecord", *common[2:]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["all.tfrecord", "label_map.pbtxt", "notes.txt"]
