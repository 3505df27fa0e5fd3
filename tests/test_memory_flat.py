"""Streaming, checked cheaply: Python's peak allocations while writing and reading records do not grow with the
number of items (10x the items, about the same peak; holding even 50 bytes per item would fail). The whole-process
RSS at 100k images is measured by bench/bench_memory.py."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from tfodkit.formats import tfod
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
from tfodkit.pipeline import convert

LABELS = LabelMap.from_names(["car", "person", "dog"])


def generated(count: int) -> Dataset:
    """``count`` items made on the fly (nothing held): three boxes each, a small embedded image."""

    def items() -> Iterator[Item]:
        for index in range(count):
            boxes = [[1, 2, 12, 10], [8, 6, 30, 22], [0, 0, 5, 5]]
            yield Item(
                f"{index:06d}",
                ImageRef(f"{index:06d}.jpg", data=b"\xff\xd8\xff" + bytes(600), width=32, height=24),
                Objects.from_boxes(boxes, [1 + (index + k) % 3 for k in range(3)]),
                subset="train" if index % 2 else "val",
            )

    return Dataset(items, LABELS.copy())


def peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_records_does_not_hold_items(tmp_path: Path) -> None:
    small = peak_bytes(lambda: tfod.write(generated(100), str(tmp_path / "small.tfrecord")))
    large = peak_bytes(lambda: tfod.write(generated(1000), str(tmp_path / "large.tfrecord")))
    assert large < small * 1.2 + 50_000, (small, large)


def test_reading_records_does_not_hold_items(tmp_path: Path) -> None:
    tfod.write(generated(100), str(tmp_path / "small.tfrecord"))
    tfod.write(generated(1000), str(tmp_path / "large.tfrecord"))

    def read_all(name: str) -> Callable[[], int]:
        return lambda: sum(len(item.objects) for item in tfod.read(str(tmp_path / name)))

    assert read_all("large.tfrecord")() == 3000
    small, large = peak_bytes(read_all("small.tfrecord")), peak_bytes(read_all("large.tfrecord"))
    assert large < small * 1.2 + 50_000, (small, large)


def test_record_to_record_conversion_with_shards_streams(tmp_path: Path) -> None:
    tfod.write(generated(100), str(tmp_path / "small.tfrecord"))
    tfod.write(generated(1000), str(tmp_path / "large.tfrecord"))

    def run(name: str) -> Callable[[], object]:
        return lambda: convert(
            str(tmp_path / f"{name}.tfrecord"),
            str(tmp_path / f"out_{name}"),
            from_format="tfrecord",
            to_format="tfrecord",
            write_options={"shard_size": 10_000_000},
        )

    small, large = peak_bytes(run("small")), peak_bytes(run("large"))
    assert large < small * 1.2 + 50_000, (small, large)
