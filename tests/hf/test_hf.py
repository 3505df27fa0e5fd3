"""The hf format against Hugging Face ``datasets`` itself: what tfodkit writes loads with ``load_from_disk`` /
``load_dataset("parquet")``, what ``datasets`` writes reads back, and records survive tfrecord → hf → tfrecord.

Runs in .venv-hf (`make hf-test`); elsewhere (no pyarrow or datasets) the whole module is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")
datasets = pytest.importorskip("datasets")

from tests._cli import run  # noqa: E402
from tests.conftest import make_items  # noqa: E402
from tfodkit import convert  # noqa: E402
from tfodkit.errors import FormatError, LossError  # noqa: E402
from tfodkit.formats import detect_format, hf, tfod  # noqa: E402
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects  # noqa: E402
from tfodkit.samples import make_jpeg  # noqa: E402

NAMES = ["car", "自行车", "truck"]


def _records(tmp_path: Path) -> Path:
    """A folder of train/val records with embedded JPEGs, boxes only (what hf holds), one unlabeled object."""
    images = tmp_path / "images"
    images.mkdir()
    items = []
    for item in make_items(images, 5):
        objects = Objects.from_boxes(item.objects.boxes, item.objects.label_ids)
        items.append(Item(item.id, item.image, objects, subset=item.subset, attributes=item.attributes))
    unlabeled = items[0].objects
    items[0].objects = Objects.from_boxes(unlabeled.boxes, [0, *unlabeled.label_ids[1:]])
    out = tmp_path / "records"
    tfod.write(Dataset(items, LabelMap.from_names(NAMES)), str(out))
    return out


def _by_id(path: Path) -> dict[str, Item]:
    return {item.id: item for item in tfod.read(str(path))}


@pytest.mark.parametrize("parquet", [False, True])
def test_tfrecord_to_hf_loads_in_datasets_and_converts_back_unchanged(tmp_path: Path, parquet: bool) -> None:
    records = _records(tmp_path)
    out = tmp_path / "hf"
    report = convert(str(records), str(out), to_format="hf", write_options={"parquet": parquet})
    assert not report.losses and report.items == 5
    assert detect_format(str(out)) == "hf"

    if parquet:
        files = {split: str(out / "data" / f"{split}-*.parquet") for split in ("train", "val")}
        loaded = datasets.load_dataset("parquet", data_files=files)
    else:
        loaded = datasets.load_from_disk(str(out))
    assert sorted(loaded) == ["train", "val"]
    features = loaded["train"].features
    assert features["objects"]["category"].feature.names == NAMES  # a ClassLabel with the label names
    original = _by_id(records)
    for split in ("train", "val"):
        for row in loaded[split].cast_column("image", datasets.Image(decode=False)):
            item = original[row["image"]["path"].rsplit(".", 1)[0]]
            assert row["image"]["bytes"] == item.image.read()  # embedded byte for byte
            assert (row["width"], row["height"]) == item.image.size
            boxes = item.objects.boxes
            expected = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
            assert np.allclose(np.reshape(row["objects"]["bbox"], (-1, 4)), expected, atol=1e-9)
            assert row["objects"]["category"] == [label - 1 for label in item.objects.label_ids.tolist()]

    back = tmp_path / "back"
    report = convert(str(out), str(back), to_format="tfrecord")
    assert not report.losses
    again = _by_id(back)
    assert sorted(again) == sorted(original)
    for item_id, item in original.items():
        copy = again[item_id]
        assert copy.subset == item.subset and copy.image.name == item.image.name
        assert copy.image.read() == item.image.read()
        assert np.allclose(copy.objects.boxes, item.objects.boxes, atol=1e-4)  # float32 normalized in records
        assert copy.objects.label_ids.tolist() == item.objects.label_ids.tolist()  # the unlabeled one stays 0
        assert copy.attributes["source_id"] == item.attributes["source_id"]


def _guide_dataset(tmp_path: Path) -> datasets.DatasetDict:
    """A dataset as Hugging Face's object-detection guide has it (cppe-5): float32 bboxes, Sequence features."""
    features = datasets.Features(
        {
            "image_id": datasets.Value("int64"),
            "image": datasets.Image(),
            "width": datasets.Value("int32"),
            "height": datasets.Value("int32"),
            "objects": datasets.Sequence(
                {
                    "id": datasets.Value("int64"),
                    "area": datasets.Value("int64"),
                    "bbox": datasets.Sequence(datasets.Value("float32"), length=4),
                    "category": datasets.ClassLabel(names=["Coverall", "Face_Shield", "Gloves"]),
                }
            ),
        }
    )
    jpegs = [make_jpeg(32, 24, 1), make_jpeg(40, 30, 2)]
    rows = {
        "image_id": [15, 16],
        "image": [{"bytes": jpegs[0], "path": "15.jpg"}, {"bytes": jpegs[1], "path": None}],
        "width": [32, 40],
        "height": [24, 30],
        "objects": [
            {"id": [114, 115], "area": [200, 30], "bbox": [[1.5, 2.0, 20.0, 10.0], [0, 0, 5, 6]], "category": [2, 0]},
            {"id": [], "area": [], "bbox": [], "category": []},
        ],
    }
    train = datasets.Dataset.from_dict(rows, features=features)
    return datasets.DatasetDict(train=train, test=train.select([1]))


@pytest.mark.parametrize("layout", ["save_to_disk", "hub_parquet", "single_split"])
def test_reads_what_datasets_writes(tmp_path: Path, layout: str) -> None:
    saved = _guide_dataset(tmp_path)
    path = tmp_path / "ds"
    if layout == "save_to_disk":
        saved.save_to_disk(str(path))
    elif layout == "hub_parquet":
        for split, part in saved.items():
            part.to_parquet(str(path / "data" / f"{split}-00000-of-00001.parquet"))
    else:
        saved["train"].save_to_disk(str(path))
    assert detect_format(str(path)) == "hf"
    dataset = hf.read(str(path))
    assert dataset.label_map.names == ["Coverall", "Face_Shield", "Gloves"]
    items = {(item.subset, item.id): item for item in dataset}
    subset = "default" if layout == "single_split" else "train"
    first = items[(subset, "15")]
    assert first.image.read() == make_jpeg(32, 24, 1)
    assert first.objects.boxes.tolist() == [[1.5, 2.0, 21.5, 12.0], [0, 0, 5, 6]]
    assert first.objects.label_ids.tolist() == [3, 1]
    assert first.objects.attribute("area") == [200.0, 30.0]
    assert first.attributes["source_id"] == "15"
    nameless = items[(subset, "16")]  # no path: named from image_id and the bytes' format
    assert nameless.image.name == "16.jpg" and len(nameless.objects) == 0
    assert len(items) == (2 if layout == "single_split" else 3)
    assert [item.id for item in hf.read(str(path), subset=subset)][:1] == ["15"]


def test_what_hf_cannot_hold_is_counted_and_strict_writes_nothing(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    items = make_items(images, 3)  # a mask, VOC difficult/truncated/pose
    records = tmp_path / "records"
    tfod.write(Dataset(items, LabelMap.from_names(NAMES)), str(records))
    out = tmp_path / "hf"
    report = convert(str(records), str(out), to_format="hf")
    assert report.losses["mask_as_box"] == 2
    assert report.losses["attribute_dropped"] == 6  # difficult, truncated and pose "Left": 1 object of 2 each, 2 items
    assert "difficult" in report.loss_messages["attribute_dropped"]
    strict = tmp_path / "strict"
    with pytest.raises(LossError):
        convert(str(records), str(strict), to_format="hf", strict=True)
    assert not strict.exists()

    assert run("convert", str(records), str(tmp_path / "cli"), "--to", "hf", "--no-save-images", "--parquet") == 0
    loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "cli" / "data" / "*.parquet"))["train"]
    assert loaded.cast_column("image", datasets.Image(decode=False))[0]["image"]["bytes"] is None


def test_labels_found_while_reading_reach_the_class_label(tmp_path: Path) -> None:
    """Records without a label map: the names are known only at the end, and the files are stamped with them."""
    records = _records(tmp_path)
    (records / "label_map.pbtxt").unlink()
    for parquet in (False, True):
        out = tmp_path / f"hf_{parquet}"
        convert(str(records), str(out), to_format="hf", write_options={"parquet": parquet})
        if parquet:
            loaded = datasets.load_dataset("parquet", data_files=str(out / "data" / "train-*.parquet"))["train"]
        else:
            loaded = datasets.load_from_disk(str(out))["train"]
        assert sorted(loaded.features["objects"]["category"].feature.names) == sorted(NAMES)


def test_rows_stream_in_batches_and_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf, "ROWS_PER_BATCH", 2)
    monkeypatch.setattr(hf, "MAX_SHARD_BYTES", 1)  # every batch starts a new file
    items = [
        Item(
            f"i{index}", ImageRef(f"i{index}.jpg", data=make_jpeg(8, 8, index)), Objects.from_boxes([[0, 0, 4, 4]], [1])
        )
        for index in range(5)
    ]
    out = tmp_path / "hf"
    hf.write(Dataset(items, LabelMap.from_names(["a"])), str(out))
    state = json.loads((out / "default" / "state.json").read_text())
    assert [entry["filename"] for entry in state["_data_files"]] == [f"data-0000{i}-of-00003.arrow" for i in range(3)]
    assert [item.id for item in hf.read(str(out))] == [f"i{index}" for index in range(5)]
    assert datasets.load_from_disk(str(out))["default"]["image_id"] == [0, 1, 2, 3, 4]


def test_a_bad_row_names_the_file_and_row(tmp_path: Path) -> None:
    saved = _guide_dataset(tmp_path)["train"]
    bad = saved.map(lambda row: {"width": 10}, features=saved.features)  # boxes now reach outside the image
    bad.save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(FormatError, match=r"data-00000-of-00001\.arrow: record 0: object 0: .*outside"):
        list(hf.read(str(tmp_path / "bad")))
    report = convert(str(tmp_path / "bad"), str(tmp_path / "out"), to_format="tfrecord", on_error="skip")
    assert report.skipped == 1 and report.items == 1


def test_a_split_name_datasets_refuses_is_an_error(tmp_path: Path) -> None:
    item = Item("a", ImageRef("a.jpg", data=make_jpeg(8, 8, 0)), subset="my split")
    with pytest.raises(FormatError, match="split name"):
        hf.write(Dataset([item], LabelMap()), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_rows_without_path_or_image_id_are_named_by_their_row_in_the_split(tmp_path: Path) -> None:
    rows = datasets.Dataset.from_dict(
        {
            "image": [{"bytes": make_jpeg(8, 8, index), "path": None} for index in range(3)],
            "objects": [[{"bbox": [0, 0, 2, 2], "category": "cat" if index else "dog"}] for index in range(3)],
        },
        features=datasets.Features(
            {
                "image": datasets.Image(),
                "objects": [
                    {"bbox": datasets.List(datasets.Value("float32"), length=4), "category": datasets.Value("string")}
                ],
            }
        ),
    )
    for index in range(3):  # three Parquet shards of one split, as the Hub splits big ones
        rows.select([index]).to_parquet(str(tmp_path / "data" / f"train-0000{index}-of-00003.parquet"))
    dataset = hf.read(str(tmp_path))
    items = list(dataset)
    assert [item.id for item in items] == ["0", "1", "2"] and {item.subset for item in items} == {"train"}
    assert dataset.label_map.names == ["dog", "cat"]  # string categories: names in order met
    assert [item.objects.label_ids.tolist() for item in items] == [[1], [2], [2]]
