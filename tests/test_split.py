"""-t random_split, remap_labels and filter_labels: from the CLI and the Python API, streaming and deterministic."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from pathlib import Path

import pytest
from _cli import run

from tfodkit import convert
from tfodkit.dataset_transforms import DatasetTransform, random_split
from tfodkit.errors import UsageError
from tfodkit.formats import coco, tfod
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.samples import make_jpeg
from tfodkit.transforms import TransformChain, apply_transforms, transform_from_spec

NAMES = ["car", "person", "bike"]


def _items(count: int, label_of: object = None) -> list[Item]:
    """Items with embedded images; item i has one object of label ``1 + i % 3`` unless ``label_of`` says otherwise."""
    items = []
    for index in range(count):
        label = label_of(index) if callable(label_of) else 1 + index % 3
        objects = Objects.from_boxes([[1, 1, 5, 5]], [label]) if label else Objects()
        image = ImageRef(f"{index:03d}.jpg", data=make_jpeg(8, 8, index), width=8, height=8)
        items.append(Item(f"{index:03d}", image, objects, subset="default"))
    return items


def _records(folder: Path, count: int, label_of: object = None) -> Path:
    path = folder / "in.tfrecord"
    tfod.write(Dataset(_items(count, label_of), LabelMap.from_names(NAMES)), str(path))
    return path


def _subsets(dataset: Dataset) -> dict[str, str]:
    return {item.id: item.subset for item in dataset}


# ---------------------------------------------------------------------------------------------- random_split
def test_random_split_is_stratified_by_label_and_exact_per_block() -> None:
    # 300 items: labels 1..3 each on 100 items; 0.7/0.2/0.1 has a block of 10 slots, so each label splits exactly
    split = random_split(Dataset(_items(300), LabelMap.from_names(NAMES)), {"train": 0.7, "val": 0.2, "test": 0.1})
    counts = Counter((item.subset, int(item.objects.label_ids[0])) for item in split)
    for label in (1, 2, 3):
        assert (counts["train", label], counts["val", label], counts["test", label]) == (70, 20, 10)


def test_random_split_rare_labels_are_split_too() -> None:
    # label 3 is on 1 item in 10: a plain random split of 100 items can leave it out of a subset; stratified not
    rare = random_split(
        Dataset(_items(100, lambda i: 3 if i % 10 == 0 else 1), LabelMap.from_names(NAMES)),
        {"train": 0.5, "test": 0.5},
        seed=7,
    )
    counts = Counter((item.subset, int(item.objects.label_ids[0])) for item in rare)
    assert (counts["train", 3], counts["test", 3]) == (5, 5)
    assert (counts["train", 1], counts["test", 1]) == (45, 45)


def test_random_split_is_deterministic_seeded_and_the_same_every_pass() -> None:
    dataset = Dataset(_items(60), LabelMap.from_names(NAMES))
    first = random_split(dataset, {"train": 0.5, "test": 0.5}, seed=3)
    assert _subsets(first) == _subsets(first)  # a writer reading twice sees one split
    assert _subsets(first) == _subsets(random_split(dataset, {"train": 0.5, "test": 0.5}, seed=3))
    assert _subsets(first) != _subsets(random_split(dataset, {"train": 0.5, "test": 0.5}, seed=4))
    assert {item.subset for item in dataset} == {"default"}  # the input is untouched


def test_random_split_items_without_objects_are_split_as_their_own_stratum() -> None:
    split = random_split(Dataset(_items(20, lambda i: 0), LabelMap.from_names(NAMES)), {"a": 0.5, "b": 0.5})
    assert Counter(item.subset for item in split) == {"a": 10, "b": 10}


def test_random_split_default_is_datumaros_train_test() -> None:
    split = random_split(Dataset(_items(100), LabelMap.from_names(NAMES)))
    assert set(Counter(item.subset for item in split)) == {"train", "test"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("random_split:train=0.7,test=0.2", "sum to 0.9"),
        ("random_split:train=x", "expected a number"),
        ("random_split:train", "expected NAME=VALUE"),
        ("random_split:train=1.5,test=-0.5", "ratio in [0, 1]"),
    ],
)
def test_random_split_bad_specs_are_one_line_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        apply_transforms(Dataset([], LabelMap()), [transform_from_spec(spec)])


def test_random_split_from_the_cli_writes_the_subsets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _records(tmp_path, 30)
    spec = "random_split:train=0.6,val=0.2,test=0.2,seed=5"
    assert run("convert", str(source), str(tmp_path / "out"), "--to", "coco", "-t", spec, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items_per_subset"] == {"train": 18, "val": 6, "test": 6}
    files = sorted(path.name for path in (tmp_path / "out" / "annotations").iterdir())
    assert files == ["instances_test.json", "instances_train.json", "instances_val.json"]
    read_back = _subsets(coco.read(str(tmp_path / "out")))
    api = _subsets(random_split(tfod.read(str(source)), {"train": 0.6, "val": 0.2, "test": 0.2}, seed=5))
    assert read_back == api  # the CLI and the API give the same split


# ---------------------------------------------------------------------------------------------- label transforms
def test_remap_labels_from_the_cli_merges_and_deletes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _records(tmp_path, 9)
    spec = "remap_labels:car=vehicle,bike=vehicle,person="
    assert run("convert", str(source), str(tmp_path / "out"), "--to", "coco", "-t", spec, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["items"], report["objects"], report["labels"]) == (9, 6, 1)
    assert report["objects_per_label"] == {"vehicle": 6}
    written = coco.read(str(tmp_path / "out"))
    assert written.label_map.names == ["vehicle"]
    assert sum(len(item.objects) for item in written) == 6


def test_remap_labels_from_a_mapping_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _records(tmp_path, 6)
    mapping = tmp_path / "map.txt"
    mapping.write_text("# old=new\ncar = auto, car\nbike=\n", encoding="utf-8")  # a name with a comma, from a file
    assert (
        run(
            "convert",
            str(source),
            str(tmp_path / "out" / "out.tfrecord"),
            "--to",
            "tfrecord",
            "-t",
            f"remap_labels:@{mapping}",
        )
        == 0
    )
    written = tfod.read(str(tmp_path / "out" / "out.tfrecord"))
    assert sorted(written.label_map.names) == ["auto, car", "person"]
    assert Counter(written.label_map.name_of(i) for item in written for i in item.objects.label_ids.tolist()) == {
        "auto, car": 2,
        "person": 2,
    }


def test_filter_labels_keeps_the_named_labels_and_every_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _records(tmp_path, 9)
    assert (
        run(
            "convert", str(source), str(tmp_path / "out"), "--to", "coco", "-t", "filter_labels:keep=car|bike", "--json"
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert (report["items"], report["objects"]) == (9, 6)
    assert report["objects_per_label"] == {"car": 3, "bike": 3}
    names = tmp_path / "names.txt"
    names.write_text("person\n", encoding="utf-8")
    assert (
        run("convert", str(source), str(tmp_path / "out2"), "--to", "coco", "-t", f"filter_labels:@{names}", "--json")
        == 0
    )
    assert json.loads(capsys.readouterr().out)["objects_per_label"] == {"person": 3}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("filter_labels:keep=cat", "no label 'cat' in the dataset"),
        ("remap_labels:cat=dog", "no label 'cat' in the dataset"),
        ("remap_labels:car", "expected OLD=NEW"),
        ("filter_labels:drop=car", "bad option 'drop'"),
        ("remap_labels:@missing.txt", "missing.txt: cannot read the mapping file"),
    ],
)
def test_label_transform_mistakes_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    source = _records(tmp_path, 3)
    assert run("convert", str(source), str(tmp_path / "out"), "--to", "coco", "-t", spec) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_dataset_transforms_run_in_order_among_item_transforms_and_pickle() -> None:
    dataset = Dataset(_items(6), LabelMap.from_names(NAMES))
    steps = [
        transform_from_spec("filter_labels:keep=car"),
        "boxes_to_masks",
        transform_from_spec("remap_labels:car=auto"),
    ]
    assert all(isinstance(step, DatasetTransform) for step in (steps[0], steps[2]))
    result = apply_transforms(dataset, steps)
    assert result.label_map == LabelMap.from_names(["auto"])
    assert [len(item.objects) for item in result] == [1, 0, 0, 1, 0, 0]
    assert all(item.objects.masks[0] is not None for item in result if len(item.objects))
    assert pickle.loads(pickle.dumps(steps[0])) == steps[0]  # Beam pickles its transforms
    with pytest.raises(UsageError, match="transforms a dataset"):
        TransformChain([steps[0]])


def test_convert_api_takes_dataset_transforms(tmp_path: Path) -> None:
    source = _records(tmp_path, 6)
    report = convert(
        str(source),
        str(tmp_path / "out"),
        to_format="coco",
        transforms=[transform_from_spec("remap_labels:person=human")],
    )
    assert report.labels == 3 and report.objects_per_label["human"] == 2
