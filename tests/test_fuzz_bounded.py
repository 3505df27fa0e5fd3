"""The fuzz harnesses (fuzz/fuzz_*.py), run for a bounded number of inputs on every test run.

Each harness's ``test_one_input`` lets only a ``TfodError`` escape. Here hypothesis drives it with
mutations of the harness's seeds (bit flips, truncation, insertions, deletions, boundary bytes) and with
raw bytes, deterministically (``derandomize``), ``TFODKIT_FUZZ_EXAMPLES`` inputs per harness (default 300).
Every input that once crashed a harness is kept in ``fuzz/regressions/<harness>/`` and replayed. When
atheris is installed (``pip install -e '.[fuzz]'``), each harness also runs under atheris for a few thousand
coverage-guided inputs, so ``make fuzz`` keeps working. The long runs (1,000,000 inputs each) are
``make fuzz``.

The tests at the end pin bugs the fuzzers found and that are not fixed yet (``xfail(strict=True)``: they
fail loudly once fixed, so the marker gets removed).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfodkit.errors import TfodError

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "fuzz"
HARNESSES = ["records", "example", "labelmap", "voc", "coco", "cvat_xml", "yolo", "zip"]
EXAMPLES = int(os.environ.get("TFODKIT_FUZZ_EXAMPLES", "300"))
ATHERIS_RUNS = int(os.environ.get("TFODKIT_FUZZ_ATHERIS_RUNS", "2000"))


def harness(name: str) -> Any:
    if str(FUZZ_DIR) not in sys.path:
        sys.path.insert(0, str(FUZZ_DIR))
    return importlib.import_module(f"fuzz_{name}")


@st.composite
def mutation_of(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few random edits, the kinds libFuzzer makes."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        operation = draw(st.integers(0, 4))
        position = draw(st.integers(0, len(data)))
        if operation == 0 and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == 1:
            del data[position:]
        elif operation == 2:
            data[position:position] = draw(st.binary(max_size=8))
        elif operation == 3:
            del data[position : position + draw(st.integers(1, 32))]
        elif operation == 4 and position < len(data):
            data[position] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
    return bytes(data)


@pytest.mark.parametrize("name", HARNESSES)
def test_harness_seeds_pass(name: str) -> None:
    module = harness(name)
    seeds = module.seeds()
    assert seeds, f"fuzz_{name} has no seeds"
    for seed in seeds:
        module.test_one_input(seed)


@pytest.mark.parametrize("name", HARNESSES)
def test_harness_on_mutated_and_random_inputs(name: str) -> None:
    module = harness(name)
    inputs = st.one_of(mutation_of(module.seeds()), st.binary(max_size=600))

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(inputs)
    def run(data: bytes) -> None:
        module.test_one_input(data)

    run()


def _regressions() -> list[Any]:
    return [
        pytest.param(path.parent.name, path, id=f"{path.parent.name}/{path.name}")
        for path in sorted((FUZZ_DIR / "regressions").glob("*/*"))
        if path.is_file()
    ]


@pytest.mark.parametrize(("name", "path"), _regressions())
def test_inputs_that_once_crashed_now_pass(name: str, path: Path) -> None:
    harness(name).test_one_input(path.read_bytes())


def test_every_regression_input_belongs_to_a_harness() -> None:
    folders = {path.name for path in (FUZZ_DIR / "regressions").iterdir() if path.is_dir()}
    assert folders <= set(HARNESSES)
    assert all((FUZZ_DIR / f"fuzz_{name}.py").is_file() for name in HARNESSES)


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_atheris(), reason="atheris is not installed (pip install -e '.[fuzz]')")
@pytest.mark.parametrize("name", HARNESSES)
def test_harness_runs_under_atheris(name: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(FUZZ_DIR))
    run = importlib.import_module("run")
    corpus = tmp_path / "corpus"
    run.write_seeds(name, corpus)
    command = [
        sys.executable,
        str(FUZZ_DIR / f"fuzz_{name}.py"),
        str(corpus),
        f"-runs={ATHERIS_RUNS}",
        "-seed=1",
        "-timeout=30",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
    ]
    dictionary = run.write_dictionary(name, tmp_path)
    if dictionary is not None:
        command.append(f"-dict={dictionary}")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run(
        command, cwd=FUZZ_DIR, capture_output=True, text=True, env=dict(os.environ, TFODKIT_FUZZ_SCRATCH=str(scratch))
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {ATHERIS_RUNS} runs" in result.stderr


# ------------------------------------------------------------------------------------------ bugs not fixed yet
def test_far_polygon_point_does_not_hang() -> None:
    """Found by fuzz_coco (fixed in raster.polygons_to_runs by clipping): pycocotools walks every 1/5-pixel step
    of an edge, so one point at 1e9 used to hang. Run in a child process so a regression fails instead of hanging."""
    code = (
        "import numpy as np\n"
        "from tfodkit.masks.raster import polygons_to_array\n"
        "print(int(polygons_to_array([np.array([[1e9, 1.0], [4.0, 1.0], [4.0, 3.0]])], 6, 8).sum()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], timeout=60, check=True, capture_output=True, text=True)
    assert int(result.stdout) > 0


def test_voc_writer_rejects_a_label_xml_cannot_hold(tmp_path: Path) -> None:
    from tfodkit.formats import voc
    from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects

    items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
    with pytest.raises(TfodError):
        voc.write(Dataset(items, LabelMap.from_names(["a\x01b"])), str(tmp_path / "out"))


def test_lone_surrogate_category_from_coco_is_a_typed_error_or_replaced(tmp_path: Path) -> None:
    """JSON may hold lone surrogates ('\\ud800'), which no UTF-8 writer can encode (found by reading the fuzz
    outcomes: the TFRecord writer raised UnicodeEncodeError). A typed error, or a valid output, not a crash."""
    from tfodkit.pipeline import convert, read_dataset

    (tmp_path / "coco" / "annotations").mkdir(parents=True)
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]}],
        "categories": [{"id": 1, "name": "\ud800"}],
    }
    (tmp_path / "coco" / "annotations" / "instances_default.json").write_text(json.dumps(document))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            convert(
                str(tmp_path / "coco"),
                str(tmp_path / "out.tfrecord"),
                from_format="coco",
                to_format="tfrecord",
                write_options={"save_images": False},
            )
        except TfodError:
            return
    names = read_dataset(str(tmp_path / "out.tfrecord"), "tfrecord").label_map.names
    assert len(names) == 1 and names[0].encode("utf-8")


@pytest.mark.parametrize("fmt", ["coco", "voc", "tfrecord"])
def test_an_image_name_cannot_reach_outside_the_dataset(tmp_path: Path, fmt: str) -> None:
    from tfodkit.pipeline import read_dataset

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff private bytes")
    root = tmp_path / "dataset"
    options: dict[str, str] = {}
    if fmt == "tfrecord":
        from tfodkit.example import encode_example
        from tfodkit.records import RecordWriter

        (root / "images").mkdir(parents=True)
        with RecordWriter(str(root / "a.tfrecord")) as writer:
            writer.write(
                encode_example({"image/filename": [b"../../secret.jpg"], "image/height": [4], "image/width": [4]})
            )
        options["images_dir"] = str(root / "images")
    elif fmt == "coco":
        (root / "annotations").mkdir(parents=True)
        (root / "images").mkdir()
        document = {
            "images": [{"id": 1, "file_name": "../../secret.jpg", "width": 4, "height": 4}],
            "annotations": [],
            "categories": [],
        }
        (root / "annotations" / "instances_default.json").write_text(json.dumps(document))
    else:
        (root / "Annotations").mkdir(parents=True)
        (root / "JPEGImages").mkdir()
        (root / "Annotations" / "a.xml").write_text(
            "<annotation><filename>../../secret.jpg</filename><size><width>4</width><height>4</height></size>"
            "</annotation>"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            items = list(read_dataset(str(root), fmt, **options))
    except TfodError:
        return  # refusing the name is a fine answer
    assert all(
        item.image.path is None or Path(item.image.path).resolve().is_relative_to(root.resolve()) for item in items
    )


def test_nan_and_inverted_boxes_in_records_are_typed_errors() -> None:
    """Found by reading the schema code with the fuzzer's eyes: checked in tfod.example_to_item."""
    from tfodkit.example import decode_example, encode_example
    from tfodkit.formats.tfod import example_to_item
    from tfodkit.model import LabelMap

    def record(xmin: float, xmax: float) -> dict[str, Any]:
        return decode_example(
            encode_example(
                {
                    "image/height": [4],
                    "image/width": [4],
                    "image/object/class/label": [1],
                    "image/object/bbox/xmin": np.array([xmin], np.float32),
                    "image/object/bbox/xmax": np.array([xmax], np.float32),
                    "image/object/bbox/ymin": np.array([0.1], np.float32),
                    "image/object/bbox/ymax": np.array([0.5], np.float32),
                }
            )
        )

    with pytest.raises(TfodError, match="not a finite number"):
        example_to_item(record(float("nan"), 0.5), LabelMap(), where="a.tfrecord", record_index=3)
    with pytest.raises(TfodError, match="xmin > xmax"):
        example_to_item(record(0.8, 0.2), LabelMap(), where="a.tfrecord", record_index=3)
    assert len(example_to_item(record(0.5, 0.5), LabelMap()).objects) == 1  # degenerate boxes are kept
