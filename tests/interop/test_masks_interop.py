"""Instance masks against the real TensorFlow 2.21 and Datumaro 1.13.12.

- TensorFlow decodes tfodkit's mask PNGs (``tf.io.decode_png``, ``> 0``) to the expected 0/1 pixels, and the
  TF OD API decoder's PNG_MASKS path (``decode_image`` per string, stacked) reads records where only some
  objects have masks — which is why tfodkit writes an all-zero PNG, not the empty string Datumaro writes.
- Datumaro imports tfodkit's export with masks as masks with the right labels; tfodkit imports Datumaro's
  ``save_masks`` export and keeps the boxes Datumaro drops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfodkit.example import decode_example
from tfodkit.formats import tfod
from tfodkit.masks import masks_to_png_list
from tfodkit.masks.png import encode_mask_png
from tfodkit.masks.raster import box_to_array, polygons_to_array
from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.records import read_records
from tfodkit.samples import make_jpeg
from tfodkit.transforms import apply_transforms

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

tf = pytest.importorskip("tensorflow")
datumaro = pytest.importorskip("datumaro")

from datumaro.components.annotation import AnnotationType, Bbox, Polygon  # noqa: E402
from datumaro.components.annotation import Mask as DatumaroMask  # noqa: E402
from datumaro.components.dataset import Dataset as DatumaroDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image as DatumaroImage  # noqa: E402

HEIGHT, WIDTH = 48, 64
LABELS = ["car", "person", "dog"]


def od_api_decode_png_masks(pngs: list[bytes], height: int, width: int) -> np.ndarray:
    """What the OD API's TfExampleDecoder does with PNG_MASKS: decode_image(channels=1) each, > 0, stack."""

    def decode(png: tf.Tensor) -> tf.Tensor:
        image = tf.squeeze(tf.image.decode_image(png, channels=1), axis=2)
        image.set_shape([None, None])
        return tf.cast(tf.greater(image, 0), tf.float32)

    tensor = tf.constant(pngs, dtype=tf.string)
    return tf.map_fn(decode, tensor, fn_output_signature=tf.float32).numpy()


def _masks() -> list[Mask]:
    rng = np.random.default_rng(2)
    masks = [Mask.from_polygons([rng.uniform([0, 0], [WIDTH, HEIGHT], (7, 2))], HEIGHT, WIDTH) for _ in range(4)]
    masks += [Mask.from_box([3.5, 2.25, 40.75, 30.5], HEIGHT, WIDTH)]
    masks += [Mask.from_array(rng.random((HEIGHT, WIDTH)) < 0.3)]
    masks += [Mask.from_array(np.ones((HEIGHT, WIDTH), dtype=bool))]
    return masks


def test_tensorflow_decodes_our_pngs_to_0_1() -> None:
    for mask in _masks():
        decoded = tf.io.decode_png(mask.png).numpy()
        assert decoded.shape == (HEIGHT, WIDTH, 1)
        assert set(np.unique(decoded)) <= {0, 1}  # 0/1 values, as the OD API's COCO tool writes
        assert np.array_equal(decoded[:, :, 0] > 0, mask.array)
        assert np.array_equal(tf.io.decode_image(mask.png, channels=1).numpy()[:, :, 0] > 0, mask.array)


def test_od_api_decoder_reads_partial_masks_with_zero_placeholders() -> None:
    masks: list[Mask | None] = [_masks()[0], None, _masks()[4]]
    pngs = masks_to_png_list(masks, HEIGHT, WIDTH)
    assert pngs is not None
    stacked = od_api_decode_png_masks(pngs, HEIGHT, WIDTH)
    assert stacked.shape == (3, HEIGHT, WIDTH)
    assert np.array_equal(stacked[0] > 0, masks[0].array)
    assert not stacked[1].any()
    assert np.array_equal(stacked[2] > 0, masks[2].array)
    # Why not Datumaro's empty string: TensorFlow cannot decode it, and the whole record fails.
    with pytest.raises(tf.errors.InvalidArgumentError):
        od_api_decode_png_masks([pngs[0], b"", pngs[2]], HEIGHT, WIDTH)
    # Nor a small placeholder: the stacked masks must share one size.
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
        od_api_decode_png_masks([pngs[0], encode_mask_png(np.zeros((1, 1), dtype=bool))], HEIGHT, WIDTH)


def _record_dataset(folder: Path) -> Dataset:
    """Images with a polygon object, a box object, and (item 2) a box-only object left without mask."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(9)
    items = []
    for index in range(3):
        path = folder / f"{index:04d}.jpg"
        path.write_bytes(make_jpeg(WIDTH, HEIGHT, index))
        polygon = rng.uniform([2, 2], [WIDTH - 2, HEIGHT - 2], (6, 2))
        x0, y0 = polygon.min(axis=0)
        x1, y1 = polygon.max(axis=0)
        objects = Objects(
            boxes=[[x0, y0, x1, y1], [4.5, 6.25, 30.75, 40.5]],
            label_ids=[1 + index % 3, 1 + (index + 1) % 3],
            polygons=[[polygon], []],
        )
        items.append(Item(f"{index:04d}", ImageRef(path.name, path=str(path), width=WIDTH, height=HEIGHT), objects))
    return Dataset(items, LabelMap.from_names(LABELS))


def test_tensorflow_parses_our_records_with_masks(tmp_path: Path) -> None:
    dataset = apply_transforms(_record_dataset(tmp_path / "images"), ["polygons_to_masks"])  # boxes stay bare
    tfod.write(dataset, str(tmp_path / "out"), workers=2)
    features = {
        "image/object/mask": tf.io.VarLenFeature(tf.string),
        "image/height": tf.io.FixedLenFeature([], tf.int64),
        "image/width": tf.io.FixedLenFeature([], tf.int64),
    }
    expected = list(dataset)
    records = list(tf.data.TFRecordDataset(str(tmp_path / "out" / "default.tfrecord")))
    assert len(records) == len(expected)
    for record, item in zip(records, expected, strict=True):
        parsed = tf.io.parse_single_example(record, features)
        pngs = tf.sparse.to_dense(parsed["image/object/mask"], default_value=b"").numpy().tolist()
        stacked = od_api_decode_png_masks(pngs, HEIGHT, WIDTH)
        assert np.array_equal(stacked[0] > 0, polygons_to_array(item.objects.polygons[0], HEIGHT, WIDTH))
        assert not stacked[1].any()  # no mask: an all-zero placeholder


def test_tensorflow_reads_numerical_masks(tmp_path: Path) -> None:
    dataset = apply_transforms(_record_dataset(tmp_path / "images"), ["polygons_to_masks", "boxes_to_masks"])
    tfod.write(dataset, str(tmp_path / "out.tfrecord"), numerical_masks=True)
    features = {"image/object/mask": tf.io.VarLenFeature(tf.float32)}
    for record, item in zip(tf.data.TFRecordDataset(str(tmp_path / "out.tfrecord")), dataset, strict=True):
        values = tf.sparse.to_dense(tf.io.parse_single_example(record, features)["image/object/mask"])
        planes = tf.reshape(tf.cast(values > 0.0, tf.float32), [-1, HEIGHT, WIDTH]).numpy()  # _reshape_instance_masks
        assert np.array_equal(planes[1] > 0, box_to_array(item.objects.boxes[1], HEIGHT, WIDTH))


def test_datumaro_imports_our_masks_with_labels(tmp_path: Path) -> None:
    dataset = apply_transforms(_record_dataset(tmp_path / "images"), ["polygons_to_masks", "boxes_to_masks"])
    tfod.write(dataset, str(tmp_path / "export"))
    imported = DatumaroDataset.import_from(str(tmp_path / "export"), "tf_detection_api")
    names = [label.name for label in imported.categories()[AnnotationType.label]]
    ours = {item.id: item for item in dataset}
    assert len(imported) == len(ours)
    for their_item in imported:
        item = ours[their_item.id]
        masks = [annotation for annotation in their_item.annotations if annotation.type == AnnotationType.mask]
        assert len(masks) == len(item.objects)
        for index, annotation in enumerate(masks):
            assert names[annotation.label] == LABELS[item.objects.label_ids[index] - 1]
            pixels = np.asarray(annotation.image)
            assert set(np.unique(pixels)) <= {0, 1}
            assert np.array_equal(pixels.astype(bool), item.objects.masks[index].array)


def test_datumaro_imports_partial_masks_with_zero_placeholders(tmp_path: Path) -> None:
    dataset = apply_transforms(_record_dataset(tmp_path / "images"), ["polygons_to_masks"])
    tfod.write(dataset, str(tmp_path / "export"))
    imported = DatumaroDataset.import_from(str(tmp_path / "export"), "tf_detection_api")
    for their_item in imported:
        masks = [annotation for annotation in their_item.annotations if annotation.type == AnnotationType.mask]
        assert len(masks) == 2
        assert np.asarray(masks[0].image).any() and not np.asarray(masks[1].image).any()


def _datumaro_dataset(folder: Path) -> DatumaroDataset:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index in range(3):
        path = folder / f"{index:04d}.jpg"
        path.write_bytes(make_jpeg(WIDTH, HEIGHT, 50 + index))
        drawn = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        drawn[10 + index : 30, 5 : 40 - index] = 1
        annotations = [
            DatumaroMask(image=drawn, label=index % 3),
            Polygon([5, 5, 40, 8, 20, 30], label=(index + 1) % 3),
            Bbox(2, 3, 20, 15, label=(index + 2) % 3),  # no mask: Datumaro writes b"" for it
        ]
        items.append(
            DatasetItem(id=f"{index:04d}", media=DatumaroImage.from_file(path=str(path)), annotations=annotations)
        )
    return DatumaroDataset.from_iterable(items, categories=LABELS)


def test_we_import_datumaro_save_masks_export_keeping_boxes(tmp_path: Path) -> None:
    source = _datumaro_dataset(tmp_path / "images")
    source = source.transform("polygons_to_masks")
    source.export(str(tmp_path / "export"), "tf_detection_api", save_media=True, save_masks=True)
    records = [decode_example(raw) for raw in read_records(str(tmp_path / "export" / "default.tfrecord"))]
    assert any(b"" in record["image/object/mask"] for record in records)  # Datumaro's empty entries
    with pytest.raises(Exception, match="empty"):  # ... which Datumaro itself cannot read back (OpenCV imdecode)
        for their_item in DatumaroDataset.import_from(str(tmp_path / "export"), "tf_detection_api"):
            for annotation in their_item.annotations:
                np.asarray(annotation.image) if annotation.type == AnnotationType.mask else None
    ours = {item.id: item for item in tfod.read(str(tmp_path / "export"))}
    for their_item in source:
        item = ours[their_item.id]
        their_masks = [a for a in their_item.annotations if a.type == AnnotationType.mask]
        their_boxes = [a for a in their_item.annotations if a.type == AnnotationType.bbox]
        assert len(item.objects) == len(their_masks) + len(their_boxes)
        masks = [mask for mask in item.objects.masks if mask is not None]
        assert len(masks) == len(their_masks)
        for mask, annotation in zip(masks, their_masks, strict=True):
            assert np.array_equal(mask.array, np.asarray(annotation.image).astype(bool))
        for index, mask in enumerate(item.objects.masks):  # every object keeps a box, masked or not
            x0, y0, x1, y1 = item.objects.boxes[index]
            assert x1 > x0 and y1 > y0
            if mask is not None:
                rows, columns = np.nonzero(mask.array)
                assert (x0, y0, x1, y1) == pytest.approx(
                    (columns.min(), rows.min(), columns.max() + 1, rows.max() + 1), abs=1.01
                )
        unmasked = [index for index, mask in enumerate(item.objects.masks) if mask is None]
        assert len(unmasked) == 1
        box = their_boxes[0]
        assert item.objects.boxes[unmasked[0]].tolist() == pytest.approx(
            [box.x, box.y, box.x + box.w, box.y + box.h], abs=1e-3
        )
        assert [LABELS[item.objects.label_ids[unmasked[0]] - 1]] == [LABELS[box.label]]
