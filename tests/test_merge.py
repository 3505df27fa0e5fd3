"""tfod merge: labels matched by name, duplicate images dropped by SHA-256 and named, subsets kept, output checks."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import run
from click.testing import CliRunner

from tfodkit.cli import app
from tfodkit.cli.merge import COMMANDS, merge_command
from tfodkit.errors import LossError, UsageError
from tfodkit.formats import coco, cvat_zip
from tfodkit.merge import merge, merged_dataset
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    """``tfod merge`` as the CLI will have it (registered by tfodkit.cli), so errors take the CLI's one-line path."""
    added = "merge" not in app.commands
    if added:
        app.add_command(merge_command)
    yield
    if added:
        app.commands.pop("merge")


def _item(name: str, seed: int, labels: list[int], subset: str) -> Item:
    objects = Objects.from_boxes([[1, 1, 6, 6]] * len(labels), labels)
    return Item(name, ImageRef(f"{name}.jpg", data=make_jpeg(16, 12, seed), width=16, height=12), objects, subset)


def _inputs(folder: Path) -> tuple[Path, Path]:
    """A: a CVAT TFRecord zip (car, person); B: COCO (person, dog) with a copy of A's image 'a1' (as 'b_copy') and an
    item 'a0' of its own (same id as one of A's, another image)."""
    first = folder / "a.zip"
    cvat_zip.write(
        Dataset(
            [_item("a0", 0, [1], "train"), _item("a1", 1, [2, 1], "train"), _item("a2", 2, [], "val")],
            LabelMap.from_names(["car", "person"]),
        ),
        str(first),
    )
    second = folder / "b"
    coco.write(
        Dataset(
            [_item("b_copy", 1, [1], "train"), _item("a0", 10, [2], "train"), _item("b3", 3, [1, 2], "val")],
            LabelMap.from_names(["person", "dog"]),
        ),
        str(second),
    )
    return first, second


def test_merge_unites_labels_by_name_drops_duplicates_and_keeps_subsets(tmp_path: Path) -> None:
    first, second = _inputs(tmp_path)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(merge_command, [str(first), str(second), str(out), "--to", "coco", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["items"], report["objects"], report["labels"]) == (5, 6, 3)
    assert report["items_per_subset"] == {"train": 3, "val": 2}
    assert report["duplicates"] == [f"{second}: 'b_copy'"]
    assert report["renamed"] == [f"{second}: 'a0' -> 'a0~2'"]
    assert report["losses"] == {"duplicate_image": 1}
    written = coco.read(str(out))
    assert written.label_map.names == ["car", "person", "dog"]
    labels = {
        item.id: sorted(written.label_map.name_of(i) for i in item.objects.label_ids.tolist()) for item in written
    }
    assert labels == {"a0": ["car"], "a1": ["car", "person"], "a0~2": ["dog"], "a2": [], "b3": ["dog", "person"]}
    renamed = next(item for item in written if item.id == "a0~2")
    assert renamed.image.read() == make_jpeg(16, 12, 10)  # the renamed item keeps its own image


def test_merge_text_names_the_dropped_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _inputs(tmp_path)
    assert run("merge", str(first), str(second), str(tmp_path / "out.zip"), "--to", "cvat-tfrecord") == 0
    err = capsys.readouterr().err
    assert f"tfod: dropped duplicate image: {second}: 'b_copy'" in err
    assert "tfod: lost: 1 duplicate images dropped" in err
    records = cvat_zip.read(str(tmp_path / "out.zip"))
    assert Counter(item.subset for item in records) == {"train": 3, "val": 2}


def test_merge_strict_fails_on_a_duplicate_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _inputs(tmp_path)
    assert run("merge", str(first), str(second), str(tmp_path / "out"), "--to", "coco", "--strict") == 2
    assert "duplicate images dropped" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(LossError):
        merge([str(first), str(second)], str(tmp_path / "out"), to_format="coco", strict=True)


def test_merge_output_checks_are_those_of_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("not ours")
    assert run("merge", str(first), str(second), str(out), "--to", "coco") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run("merge", str(first), str(second), str(out), "--to", "coco", "--overwrite") == 0
    capsys.readouterr()
    assert run("merge", str(first), str(second), str(second / "inside"), "--to", "coco") == 2  # inside an input
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert run("merge", str(first), str(out), "--to", "coco") == 2  # one dataset is no merge
    with pytest.raises(UsageError, match="at least two"):
        merge([str(first)], str(tmp_path / "x"), to_format="coco")


@pytest.mark.filterwarnings("ignore:1 duplicate images dropped")
def test_merge_is_deterministic_and_streams_each_pass_afresh() -> None:
    a = Dataset([_item("x", 1, [1], "train")], LabelMap.from_names(["car"]))
    b = Dataset([_item("y", 1, [1], "train"), _item("x", 2, [1], "train")], LabelMap.from_names(["car"]))
    duplicates: list[str] = []
    renamed: list[str] = []
    merged = merged_dataset([a, b], ["a", "b"], duplicates=duplicates, renamed=renamed)
    first = [(item.id, item.image.name) for item in merged]
    assert first == [("x", "x.jpg"), ("x~2", "x~2.jpg")]
    assert [(item.id, item.image.name) for item in merged] == first  # a writer's second pass sees the same
    assert (duplicates, renamed) == (["b: 'y'"], ["b: 'x' -> 'x~2'"])  # refilled, not doubled


def test_merge_keeps_unlabeled_objects_unlabeled_and_images_without_bytes() -> None:
    no_bytes = Item("n", ImageRef("n.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]], [0]))
    merged = merged_dataset(
        [Dataset([no_bytes], LabelMap.from_names(["a"])), Dataset([no_bytes], LabelMap.from_names(["b"]))]
    )
    items = list(merged)
    assert [item.id for item in items] == ["n", "n~2"]  # no bytes: never a duplicate, the id is made unique
    assert [item.objects.label_ids.tolist() for item in items] == [[0], [0]]
    assert merged.label_map.name_of(0) is None


def test_commands_list() -> None:
    assert COMMANDS == [merge_command]
