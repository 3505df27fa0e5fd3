"""Shared fixtures: small deterministic datasets made in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.samples import make_jpeg


def make_items(folder: Path, count: int = 4, *, seed: int = 0) -> list[Item]:
    """Items with real JPEG files on disk, boxes, VOC flags and one mask; the last item has no objects."""
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        width, height = 64 + 8 * index, 48
        image_path = folder / f"img_{index}.jpg"
        image_path.write_bytes(make_jpeg(width, height, seed + index))
        objects = Objects()
        if index < count - 1:
            boxes = np.array([[1, 2, 30, 40], [10.5, 5.25, width - 1, height - 3]], dtype=np.float64)
            mask = np.zeros((height, width), dtype=bool)
            mask[5:20, 10:30] = True
            objects = Objects(
                boxes=boxes,
                label_ids=[1 + index % 3, 3],
                masks=[Mask.from_array(mask), None],
                attributes={"difficult": [0, 1], "truncated": [1, 0], "pose": ["Left", "Unspecified"]},
            )
        items.append(
            Item(
                f"img_{index}",
                ImageRef(image_path.name, path=str(image_path), width=width, height=height),
                objects,
                subset="train" if index % 2 == 0 else "val",
                attributes={"source_id": str(1000 + index)},
            )
        )
        rng.random()
    return items


@pytest.fixture
def label_map() -> LabelMap:
    return LabelMap.from_names(["car", "自行车", 'it\'s "quoted"'])


@pytest.fixture
def dataset(tmp_path: Path, label_map: LabelMap) -> Dataset:
    images = tmp_path / "images"
    images.mkdir()
    return Dataset(make_items(images), label_map, name="sample")
