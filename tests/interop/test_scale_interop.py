"""Scale-out outputs read by the TensorFlow ecosystem: the tf.data recipe (examples/tf_data_recipe.py) over
tfodkit's shards, and `tfod index` files read by the `tfrecord` package."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tfodkit.example import decode_example
from tfodkit.formats import tfod
from tfodkit.index import index_path_for, write_index
from tfodkit.model import Dataset
from tfodkit.records import read_records

pytestmark = pytest.mark.interop

tf = pytest.importorskip("tensorflow")

RECIPE = Path(__file__).resolve().parents[2] / "examples" / "tf_data_recipe.py"


def load_recipe():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("tf_data_recipe", RECIPE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_by_filename(files: list[Path]) -> dict[bytes, dict]:
    out = {}
    for file in files:
        for record in read_records(str(file)):
            features = decode_example(record)
            out[features["image/filename"][0]] = features
    return out


def test_tf_data_recipe_reads_tfodkit_shards(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "out" / "train.tfrecord"), shards=3)
    shards = sorted((tmp_path / "out").glob("train-*-of-00003.tfrecord"))
    expected = expected_by_filename(shards)
    recipe = load_recipe()
    pattern = str(tmp_path / "out" / "train-*-of-00003.tfrecord")

    seen = Counter()
    for example in recipe.detection_dataset(pattern):
        features = expected[example["filename"].numpy()]
        seen[example["filename"].numpy()] += 1
        encoded = features["image/encoded"][0]
        decoded = tf.io.decode_image(encoded, channels=3).numpy()
        assert np.array_equal(example["image"].numpy(), decoded)
        boxes = np.stack([features[f"image/object/bbox/{side}"] for side in ("ymin", "xmin", "ymax", "xmax")], axis=1)
        assert np.array_equal(example["boxes"].numpy().reshape(-1, 4), boxes.reshape(-1, 4))
        assert example["labels"].numpy().tolist() == features["image/object/class/label"].tolist()
        assert example["texts"].numpy().tolist() == features["image/object/class/text"]
    assert seen == Counter({name: 1 for name in expected})

    batches = list(recipe.annotation_batches(pattern, batch_size=2))
    rows = [
        (name, sha)
        for batch in batches
        for name, sha in zip(batch["image/filename"].numpy(), batch["image/key/sha256"].numpy(), strict=True)
    ]
    assert sorted(name for name, _ in rows) == sorted(expected)
    for name, sha in rows:
        assert sha.decode() == hashlib.sha256(expected[name]["image/encoded"][0]).hexdigest()


def test_gzip_shards_through_the_recipe(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "all.tfrecord.gz"), shards=2, compression="gzip")
    recipe = load_recipe()
    records = recipe.record_dataset(str(tmp_path / "all-*-of-00002.tfrecord.gz"), compression_type="GZIP")
    assert sorted(record.numpy() for record in records) == sorted(
        record for file in sorted(tmp_path.glob("all-*.gz")) for record in read_records(str(file))
    )


# The tfrecord package registers its own copy of example.proto, which clashes with TensorFlow's in one process:
# its side runs in a child process.
TFRECORD_SIDE = """
import json, sys
from tfrecord.reader import tfrecord_loader
from tfrecord.tools.tfrecord2idx import create_index
path, our_index, their_index = sys.argv[1:4]
create_index(path, their_index)
names = []
for shard in range(2):  # the package splits a file between readers with the index
    for example in tfrecord_loader(path, our_index, ["image/filename"], shard=(shard, 2)):
        names.append(bytes(example["image/filename"]).decode())
print(json.dumps(names))
"""


def test_tfrecord_package_reads_our_index_and_writes_the_same(tmp_path: Path, dataset: Dataset) -> None:
    if importlib.util.find_spec("tfrecord") is None:
        pytest.skip("the tfrecord package is not installed")
    path = tmp_path / "data.tfrecord"
    tfod.write(dataset, str(path))
    write_index(path)
    child = subprocess.run(
        [sys.executable, "-c", TFRECORD_SIDE, str(path), index_path_for(path), str(tmp_path / "theirs.idx")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(index_path_for(path)).read_bytes() == (tmp_path / "theirs.idx").read_bytes()
    assert sorted(json.loads(child.stdout)) == sorted(item.image.name for item in dataset)
