"""tfodkit.torch: (image, target) samples from records, split across DataLoader workers, random access by index.

Runs where torch is installed (``make beam-test`` puts torch 2.13.0, CPU, into .venv-beam).
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import make_items  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from tfodkit.errors import CorruptRecordError  # noqa: E402
from tfodkit.formats import tfod  # noqa: E402
from tfodkit.index import write_index  # noqa: E402
from tfodkit.model import Dataset, LabelMap  # noqa: E402
from tfodkit.records import RecordWriter, read_records  # noqa: E402
from tfodkit.torch import DetectionDataset, IndexedDetectionDataset, collate_detections  # noqa: E402


@pytest.fixture
def items_dataset(tmp_path: Path) -> Dataset:
    images = tmp_path / "images"
    images.mkdir()
    return Dataset(make_items(images, 9, seed=3), LabelMap.from_names(["car", "bike", "person"]))


def names_of(samples) -> list[str]:  # type: ignore[no-untyped-def]
    return [target["filename"] for _, target in samples]


def test_samples_hold_boxes_labels_and_the_decoded_image(tmp_path: Path, items_dataset: Dataset) -> None:
    tfod.write(items_dataset, str(tmp_path / "data.tfrecord"))
    samples = list(DetectionDataset(str(tmp_path / "data.tfrecord"), masks=True))
    assert names_of(samples) == [item.image.name for item in items_dataset]
    for (image, target), item in zip(samples, items_dataset, strict=True):
        expected_pixels = np.asarray(Image.open(io.BytesIO(item.image.read())).convert("RGB")).transpose(2, 0, 1)
        assert image.dtype == torch.uint8 and torch.equal(
            image, torch.from_numpy(np.ascontiguousarray(expected_pixels))
        )
        assert target["boxes"].dtype == torch.float32 and target["boxes"].shape == (len(item.objects), 4)
        assert np.allclose(target["boxes"].numpy(), item.objects.boxes, atol=1e-3 * item.image.width)
        assert target["labels"].tolist() == item.objects.label_ids.tolist()
        assert target["size"].tolist() == [item.image.height, item.image.width]
        assert target["source_id"] == item.attributes["source_id"]
        if len(item.objects):
            assert target["difficult"].tolist() == [bool(flag) for flag in item.objects.attribute("difficult")]
        for plane, mask in zip(target["masks"], item.objects.masks, strict=True):
            expected = np.zeros(plane.shape, bool) if mask is None else mask.array
            assert np.array_equal(plane.numpy().astype(bool), expected)


def test_encoded_bytes_instead_of_pixels(tmp_path: Path, items_dataset: Dataset) -> None:
    tfod.write(items_dataset, str(tmp_path / "data.tfrecord"))
    undecoded = DetectionDataset(str(tmp_path / "data.tfrecord"), decode_images=False)
    for (image, _), item in zip(undecoded, items_dataset, strict=True):
        assert bytes(image.numpy().tobytes()) == item.image.read()


@pytest.mark.parametrize("layout", ["shards", "one file", "one gzip file"])
def test_two_workers_read_every_record_once(tmp_path: Path, items_dataset: Dataset, layout: str) -> None:
    if layout == "shards":
        tfod.write(items_dataset, str(tmp_path / "all.tfrecord"), shards=3)
        source = str(tmp_path / "all.tfrecord")
    elif layout == "one file":
        tfod.write(items_dataset, str(tmp_path / "all.tfrecord"))
        source = str(tmp_path / "all.tfrecord")
    else:
        tfod.write(items_dataset, str(tmp_path / "all.tfrecord.gz"), compression="gzip")
        source = str(tmp_path / "all.tfrecord.gz")
    loader = DataLoader(DetectionDataset(source), batch_size=2, num_workers=2, collate_fn=collate_detections)
    seen = Counter(target["filename"] for _, targets in loader for target in targets)
    assert seen == Counter(item.image.name for item in items_dataset)


def test_shuffle_reads_each_record_once_in_a_new_order_per_epoch(tmp_path: Path, items_dataset: Dataset) -> None:
    tfod.write(items_dataset, str(tmp_path / "all.tfrecord"), shards=2)
    dataset = DetectionDataset(str(tmp_path / "all.tfrecord"), shuffle=True, seed=7, decode_images=False)
    first = names_of(dataset)
    again = names_of(dataset)
    dataset.set_epoch(1)
    second = names_of(dataset)
    assert sorted(first) == sorted(second) == sorted(item.image.name for item in items_dataset)
    assert first == again  # same seed and epoch: same order
    assert first != second
    loader = DataLoader(dataset, batch_size=None, num_workers=2)
    assert Counter(target["filename"] for _, target in loader) == Counter(first)


def test_an_index_file_is_used_when_present(tmp_path: Path, items_dataset: Dataset) -> None:
    tfod.write(items_dataset, str(tmp_path / "all.tfrecord"))
    record = next(iter(read_records(str(tmp_path / "all.tfrecord"))))
    with RecordWriter(str(tmp_path / "x.tfrecord")) as writer:
        writer.write(record)
    assert IndexedDetectionDataset(str(tmp_path / "x.tfrecord"))[0][1]["filename"] == "img_0.jpg"  # scanned
    (tmp_path / "x.tfrecord.idx").write_text(f"0 {len(record) + 15}\n")  # an index that does not fit the file
    with pytest.raises(CorruptRecordError, match="stale index"):
        IndexedDetectionDataset(str(tmp_path / "x.tfrecord"))[0]


def test_indexed_dataset_random_access_and_shuffled_loader(tmp_path: Path, items_dataset: Dataset) -> None:
    tfod.write(items_dataset, str(tmp_path / "all.tfrecord"), shards=2)
    for shard in sorted(tmp_path.glob("all-*.tfrecord")):
        write_index(shard)
    indexed = IndexedDetectionDataset(str(tmp_path / "all.tfrecord"), decode_images=False)
    streamed = names_of(DetectionDataset(str(tmp_path / "all.tfrecord"), decode_images=False))
    assert len(indexed) == len(streamed) == 9
    assert [indexed[position][1]["filename"] for position in range(len(indexed))] == streamed
    assert indexed[-1][1]["filename"] == streamed[-1]
    with pytest.raises(IndexError):
        indexed[len(indexed)]
    loader = DataLoader(
        indexed,
        batch_size=4,
        shuffle=True,
        num_workers=2,
        collate_fn=collate_detections,
        generator=torch.Generator().manual_seed(0),
    )
    assert Counter(target["filename"] for _, targets in loader for target in targets) == Counter(streamed)
