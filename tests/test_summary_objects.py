"""The conversion summary counts the objects written, not those handed to a writer that left some out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import run

from tfodkit.formats import tfod
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_cvat_dataset


def test_polygons_not_exported_are_not_counted_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = make_cvat_dataset(tmp_path / "cvat", images=4)
    assert run("export", str(xml), str(tmp_path / "task.zip"), "--json") == 0
    document = json.loads(capsys.readouterr().out)
    left_out = document["losses"]["polygon_not_exported"]
    assert left_out > 0
    assert document["objects"] == document["objects_read"] - left_out
    assert run("export", str(xml), str(tmp_path / "plain.zip")) == 0
    summary = capsys.readouterr().out
    assert f"{document['objects']} objects written of {document['objects_read']} read" in summary
    assert run("diff", str(xml), str(tmp_path / "task.zip"), "--no-images", "--json") == 1
    assert json.loads(capsys.readouterr().out)["b"]["objects"] == document["objects"]  # what is in the output


def test_unlabeled_objects_are_read_and_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = [Item("a", ImageRef("a.jpg", width=8, height=8), Objects.from_boxes([[0, 0, 4, 4], [1, 1, 2, 2]], [1, 0]))]
    tfod.write(Dataset(items, LabelMap.from_names(["cat"])), str(tmp_path / "in.tfrecord"))
    assert run("convert", str(tmp_path / "in.tfrecord"), str(tmp_path / "voc"), "--to", "voc", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["objects_read"], document["objects"], document["losses"]) == (2, 1, {"unlabeled_object": 1})
    assert run("convert", str(tmp_path / "in.tfrecord"), str(tmp_path / "out.tfrecord"), "--to", "tfrecord") == 0
    assert "2 objects," in capsys.readouterr().out  # TFRecord keeps them: nothing to say
