"""`tfod info` and `tfod stats` on generated datasets: counts checked against the items they were made from,
the partial decoder against the full one, histograms against numpy."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _cli import run
from hypothesis import given, settings
from hypothesis import strategies as st

from tfodkit.example import decode_example, encode_example
from tfodkit.example.partial import FeatureSelector, feature_kinds
from tfodkit.formats import cvat_zip, tfod, tfod_schema, voc
from tfodkit.inspection import stats as stats_module
from tfodkit.inspection.histogram import Histogram
from tfodkit.inspection.info import dataset_info, shard_of
from tfodkit.inspection.stats import compute_stats
from tfodkit.model import Dataset


def expected_label_counts(dataset: Dataset) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for item in dataset:
        for label_id in item.objects.label_ids.tolist():
            counts.setdefault(dataset.label_map.name_of(label_id), Counter())[item.subset] += 1
    return counts


@pytest.fixture
def records_folder(tmp_path: Path, dataset: Dataset) -> Path:
    folder = tmp_path / "records"
    tfod.write(dataset, str(folder), save_images=True)
    return folder


# ------------------------------------------------------------------------------------------ schema
def test_the_schema_table_is_the_one_source(dataset: Dataset) -> None:
    from tfodkit.inspection.validate import EXPECTED_KINDS, PER_OBJECT_KEYS

    assert EXPECTED_KINDS == {entry.key: entry.kinds for entry in tfod_schema.SCHEMA}
    handled_apart = {tfod_schema.XMIN, tfod_schema.CLASS_TEXT, tfod_schema.MASK}
    assert set(PER_OBJECT_KEYS) | handled_apart == tfod_schema.OBJECT_KEYS
    assert stats_module._BOX_KEYS == tfod_schema.BOX_KEYS and tfod_schema.HEIGHT in stats_module._INT_KEYS
    # every key tfodkit writes is in the table with the kind it writes
    item = next(iter(dataset))
    features = tfod.item_to_features(item, dataset.label_map)
    for key, value in features.items():
        kind = "bytes" if isinstance(value, list) else ("float" if value.dtype.kind == "f" else "int64")
        assert tfod_schema.SCHEMA_BY_KEY[key].kinds[0] == kind, key
        assert tfod_schema.SCHEMA_BY_KEY[key].writer in ("tfodkit", "if set")


def test_info_flags_a_key_of_the_wrong_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tfodkit.records import RecordWriter

    path = tmp_path / "a.tfrecord"
    with RecordWriter(str(path)) as writer:
        writer.write(encode_example({tfod.HEIGHT: [b"30"], tfod.WIDTH: [40], "custom/key": [1.5]}))
    report = dataset_info(str(path))
    assert report.keys["custom/key"]["schema"] is None
    assert run("info", str(path)) == 0
    out = capsys.readouterr().out
    height_line = next(line for line in out.splitlines() if "image/height" in line)
    assert "int64, per image" in height_line and "not bytes" in height_line


# ------------------------------------------------------------------------------------------ info
def test_info_describes_files_keys_images_and_label_map(records_folder: Path, dataset: Dataset) -> None:
    report = dataset_info(str(records_folder))
    items = list(dataset)
    assert report.format == "tfrecord"
    assert report.records == len(items)
    assert report.records_per_subset == dict(Counter(item.subset for item in items))
    assert report.objects == sum(len(item.objects) for item in items)
    assert sorted(file.path for file in report.files) == sorted(str(p) for p in records_folder.glob("*.tfrecord"))
    assert all(file.compression is None and file.bytes == Path(file.path).stat().st_size for file in report.files)
    assert report.keys[tfod.XMIN]["types"] == {"float": len(items)}
    assert report.keys[tfod.HEIGHT] == {
        "records": len(items),
        "types": {"int64": len(items)},
        "schema": {"kinds": ["int64"], "per_object": False, "writer": "tfodkit"},
    }
    assert report.keys[tfod.MASK]["records"] == sum(item.objects.has_masks for item in items)
    assert report.embedded_images == len(items) and report.image_formats == {"jpeg": len(items)}
    assert report.label_map is not None and report.label_map.names == dataset.label_map.names
    assert report.label_map_path == str(records_folder / "label_map.pbtxt")
    assert dict(report.labels_in_records) == {
        name: sum(c.values()) for name, c in expected_label_counts(dataset).items()
    }
    assert report.complete


def test_info_on_shards_compression_and_cvat_zip(tmp_path: Path, dataset: Dataset) -> None:
    sharded = tmp_path / "sharded" / "all.tfrecord"
    tfod.write(dataset, str(sharded), shards=3, compression="gzip")
    missing = tmp_path / "sharded" / "all-00001-of-00003.tfrecord"
    missing.unlink()
    report = dataset_info(str(tmp_path / "sharded"))
    assert {file.shard for file in report.files} == {(0, 3), (2, 3)}
    assert {file.compression for file in report.files} == {"gzip"}
    assert report.missing_shards == {"all": [1]}

    archive = tmp_path / "task.zip"
    cvat_zip.write(dataset, str(archive))
    report = dataset_info(str(archive))
    assert report.format == "cvat-tfrecord"
    assert sorted(file.path for file in report.files) == [f"{archive}!train.tfrecord", f"{archive}!val.tfrecord"]
    assert report.embedded_images == 0 and report.records == 4
    assert report.label_map_path == f"{archive}!label_map.pbtxt"


def test_info_keeps_going_after_a_damaged_file(records_folder: Path) -> None:
    damaged = records_folder / "val.tfrecord"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    report = dataset_info(str(records_folder))
    assert not report.complete and "val.tfrecord" in report.errors[0]
    assert report.records_per_subset["train"] == 2
    assert run("info", str(records_folder)) == 2


def test_info_on_other_formats_and_cli_json(
    tmp_path: Path, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    voc.write(dataset, str(tmp_path / "voc"), save_images=True)
    report = dataset_info(str(tmp_path / "voc"), "voc")
    assert report.records == 4 and report.objects == 6
    assert report.keys["difficult"]["records"] == 3
    assert run("info", str(tmp_path / "voc"), "--from", "voc", "--json") == 0
    assert json.loads(capsys.readouterr().out)["objects"] == 6


def test_shard_names() -> None:
    assert shard_of("a/train-00001-of-00004.tfrecord") == (1, 4)
    assert shard_of("train-00004-of-00004.tfrecord") is None
    assert shard_of("x-y.tfrecord") is None


# ------------------------------------------------------------------------------------------ stats
def test_stats_match_the_items(records_folder: Path, dataset: Dataset) -> None:
    report = compute_stats(str(records_folder))
    items = list(dataset)
    assert report.images == len(items)
    assert {name: dict(counts) for name, counts in report.objects_per_label.items()} == {
        name: dict(counts) for name, counts in expected_label_counts(dataset).items()
    }
    assert report.objects_per_image == Counter(len(item.objects) for item in items)
    assert report.empty_images_per_subset == Counter(item.subset for item in items if not len(item.objects))
    # without decoding, every mask entry counts (the writer gives maskless objects an all-zero PNG)
    assert report.masked_objects == sum(len(item.objects) for item in items if item.objects.has_masks)
    assert not report.masks_decoded
    assert report.embedded_images == len(items)
    assert report.image_sizes == Counter(item.image.size for item in items)
    boxes = [(box, item.image.size) for item in items for box in item.objects.boxes.tolist()]
    pixel_widths = np.array([box[2] - box[0] for box, _ in boxes])
    relative_widths = np.array([(box[2] - box[0]) / size[0] for box, size in boxes])
    assert report.pixel_width.count == len(boxes)
    assert report.pixel_width.minimum == pytest.approx(pixel_widths.min(), rel=1e-5)
    assert report.pixel_width.maximum == pytest.approx(pixel_widths.max(), rel=1e-5)
    assert report.relative_width.mean == pytest.approx(relative_widths.mean(), rel=1e-5)
    areas = pixel_widths * np.array([box[3] - box[1] for box, _ in boxes])
    assert report.size_categories["small"] == int((areas < 32**2).sum())
    assert sum(report.size_categories.values()) == len(boxes)


def test_stats_of_the_same_data_in_another_format_agree(tmp_path: Path, dataset: Dataset) -> None:
    tfod.write(dataset, str(tmp_path / "records"), save_images=True)
    voc.write(dataset, str(tmp_path / "voc"), save_images=True)
    from_records = compute_stats(str(tmp_path / "records")).as_dict()
    from_voc = compute_stats(str(tmp_path / "voc"), "voc").as_dict()
    assert {name: entry["total"] for name, entry in from_records["labels"].items()} == {
        name: entry["total"] for name, entry in from_voc["labels"].items()
    }
    assert from_records["objects_per_image"] == from_voc["objects_per_image"]
    assert from_records["boxes"]["pixel_width"]["p50"] == pytest.approx(
        from_voc["boxes"]["pixel_width"]["p50"], rel=1e-3
    )


def test_stats_decode_masks_when_asked(records_folder: Path, dataset: Dataset) -> None:
    report = compute_stats(str(records_folder), masks=True)
    fractions = [mask.array.mean() for item in dataset for mask in item.objects.masks if mask is not None]
    assert report.masks_decoded and report.mask_fraction.count == len(fractions) == report.masked_objects
    assert report.mask_fraction.mean == pytest.approx(float(np.mean(fractions)), rel=1e-9)


def test_stats_split_across_workers_give_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.tfrecord"
    rng = np.random.default_rng(1)
    from tfodkit.records import RecordWriter

    with RecordWriter(str(path)) as writer:
        for index in range(300):
            count = int(rng.integers(0, 6))
            xmin = rng.random(count).astype(np.float32) * 0.5
            writer.write(
                encode_example(
                    {
                        tfod.HEIGHT: [480],
                        tfod.WIDTH: [640],
                        tfod.FILENAME: [f"{index}.jpg".encode()],
                        tfod.XMIN: xmin,
                        tfod.XMAX: xmin + 0.3,
                        tfod.YMIN: xmin,
                        tfod.YMAX: xmin + 0.1,
                        tfod.CLASS_TEXT: [f"c{label}".encode() for label in rng.integers(0, 5, count)],
                    }
                )
            )
    monkeypatch.setattr(stats_module, "_MIN_SPLIT_BYTES", 0)
    parts = stats_module._parts(stats_module.record_sources(str(path)), 3)
    assert len(parts) == 3 and parts[0].start == 0 and parts[-1].stop == path.stat().st_size
    one = compute_stats(str(path), workers=1).as_dict()
    three = compute_stats(str(path), workers=3).as_dict()
    assert one == three and one["images"] == 300


def test_stats_read_gzip_and_name_ids_through_the_label_map(tmp_path: Path, records_folder: Path) -> None:
    source = records_folder / "train.tfrecord"
    features = [decode_example(record) for record in stats_module.record_sources(str(source))[0].records()]
    target = tmp_path / "ids" / "train.tfrecord.gz"
    target.parent.mkdir()
    from tfodkit.records import RecordWriter

    with RecordWriter(str(target), compression="gzip") as writer:
        for record in features:
            record.pop(tfod.CLASS_TEXT)
            writer.write(encode_example(record))
    (target.parent / "label_map.pbtxt").write_bytes((records_folder / "label_map.pbtxt").read_bytes())
    by_text = compute_stats(str(source)).label_totals()
    by_id = compute_stats(str(target)).label_totals()
    assert [pair for pair in by_id if pair[1]] == [pair for pair in by_text if pair[1]]
    assert gzip.decompress(target.read_bytes())


def test_stats_cli_tables_json_and_plots(
    records_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("stats", str(records_folder), "--workers", "1") == 0
    out = capsys.readouterr().out
    assert "Objects per label and subset" in out and "Box sizes" in out
    charts = tmp_path / "charts"
    assert run("stats", str(records_folder), "--json", "--plot", str(charts), "--masks") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["images"] == 4 and document["images_without_objects"] == 1
    from PIL import Image

    names = sorted(path.name for path in charts.iterdir())
    assert names == [
        "box_aspect_ratio.png",
        "box_pixel_size.png",
        "box_relative_size.png",
        "mask_coverage.png",
        "objects_per_image.png",
        "objects_per_label.png",
    ]
    with Image.open(charts / "objects_per_label.png") as chart:
        assert chart.width == 960 and chart.height > 100
        assert len(chart.getcolors(1 << 16) or []) > 5  # bars and text drawn, not a blank page


# ------------------------------------------------------------------------------------------ building blocks
def test_histogram_quantiles_are_within_a_bin_of_numpy() -> None:
    values = np.random.default_rng(0).lognormal(3, 1, 20_000)
    histogram = Histogram.log2(1 / 16, 1 << 16)
    for chunk in np.array_split(values, 7):
        histogram.add(chunk)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert histogram.quantile(q) == pytest.approx(np.quantile(values, q), rel=0.012)
    assert histogram.minimum == values.min() and histogram.maximum == values.max()
    other = Histogram.log2(1 / 16, 1 << 16)
    other.add(values)
    assert np.array_equal(other.counts, histogram.counts)


feature_values = st.one_of(
    st.lists(st.binary(max_size=40), max_size=4),
    st.lists(st.floats(width=32, allow_nan=False), max_size=6).map(lambda v: np.array(v, np.float32)),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=6).map(lambda v: np.array(v, np.int64)),
)


@settings(max_examples=200, deadline=None)
@given(
    features=st.dictionaries(
        st.sampled_from(["a", "b", "image/encoded", "image/width", "k/ü"]), feature_values, max_size=5
    ),
    unpacked=st.booleans(),
)
def test_partial_decode_agrees_with_the_full_decoder(features: dict, unpacked: bool) -> None:
    data = encode_example(features)
    if unpacked:  # re-encode one number list unpacked: off the canonical layout
        data = _unpack_first_numbers(data, features)
    full = decode_example(data)
    selected = FeatureSelector(["a", "b", "k/ü", "image/width"], head_keys=["image/encoded"]).decode(data)
    for key, value in full.items():
        if key == "image/encoded" and isinstance(value, list):
            assert selected[key] == [item[:16] for item in value]
        elif isinstance(value, np.ndarray):
            assert np.array_equal(selected[key], value) and selected[key].dtype == value.dtype
        else:
            assert selected[key] == value
    assert set(selected) == set(full)
    kinds = feature_kinds(data)
    assert set(kinds) == set(full)
    for key, value in full.items():
        expected = "bytes" if isinstance(value, list) else ("float" if value.dtype.kind == "f" else "int64")
        assert kinds[key] == expected


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _map_entries(example: bytes) -> bytes:
    """The Features map entries of a canonical Example ``0a <length> <entries>``."""
    if not example:
        return b""
    position, length, shift = 1, 0, 0
    while True:
        byte = example[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return example[position : position + length]


def _unpack_first_numbers(data: bytes, features: dict) -> bytes:
    """The same Example with its first float list written unpacked (legal protobuf, not canonical)."""
    floats = [
        key
        for key, value in sorted(features.items())
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size
    ]
    if not floats:
        return data
    key = floats[0]
    entries = _map_entries(encode_example({k: v for k, v in features.items() if k != key}))
    unpacked = b"".join(b"\x0d" + np.float32(item).tobytes() for item in features[key])  # FloatList.value, fixed32
    feature = b"\x12" + _varint(len(unpacked)) + unpacked  # Feature.float_list
    key_bytes = key.encode()
    entry = b"\x0a" + _varint(len(key_bytes)) + key_bytes + b"\x12" + _varint(len(feature)) + feature
    entries += b"\x0a" + _varint(len(entry)) + entry
    result = b"\x0a" + _varint(len(entries)) + entries
    assert result != data
    return result
