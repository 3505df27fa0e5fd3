"""Instance masks: rasterization against pycocotools, contour tracing, the PNG writer, lazy masks, record rules."""

from __future__ import annotations

import io
import json
import pickle
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as coco_mask

from tfodkit.errors import FormatError
from tfodkit.masks import (
    empty_png_mask,
    masks_from_numerical,
    masks_from_png_list,
    masks_to_numerical,
    masks_to_png_list,
)
from tfodkit.masks.png import encode_mask_png, encode_mask_png_from_column_runs, png_is_blank
from tfodkit.masks.raster import (
    array_box,
    array_to_polygons,
    array_to_rle,
    box_pixel_range,
    box_to_array,
    clip_polygon,
    polygons_box,
    polygons_to_array,
    rasterize_source,
    rle_to_array,
    simplify_polygon,
    source_png,
)
from tfodkit.masks.rle import column_runs_from_rle_counts, rle_counts_from_string
from tfodkit.model import Mask, decode_png_mask, png_size
from tfodkit.parallel import ordered_map

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# pycocotools' decode (the reference) trips a numpy 2 deprecation warning inside pycocotools.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


# --------------------------------------------------------------------------------------------- references
def coco_polygons(polygons: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """COCO's reference: frPyObjects -> merge -> decode, as annToMask and the OD API's COCO tool do."""
    flat = [np.asarray(polygon, dtype=np.float64).reshape(-1).tolist() for polygon in polygons]
    rles = coco_mask.frPyObjects(flat, height, width)
    return coco_mask.decode(coco_mask.merge(rles)).astype(bool)


def coco_box(box: list[float], height: int, width: int) -> np.ndarray:
    xmin, ymin, xmax, ymax = box
    return coco_polygons([np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]])], height, width)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background not reachable from the border through 8-connected background becomes foreground."""
    height, width = mask.shape
    outside = np.zeros_like(mask)
    queue = deque(
        (r, c)
        for r in range(height)
        for c in range(width)
        if (r in (0, height - 1) or c in (0, width - 1)) and not mask[r, c]
    )
    for r, c in queue:
        outside[r, c] = True
    while queue:
        r, c = queue.popleft()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if 0 <= rr < height and 0 <= cc < width and not mask[rr, cc] and not outside[rr, cc]:
                    outside[rr, cc] = True
                    queue.append((rr, cc))
    return ~outside


def pil_pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as opened:
        assert opened.mode == "L"
        return np.asarray(opened)


# --------------------------------------------------------------------------------------------- strategies
sizes = st.tuples(st.integers(1, 48), st.integers(1, 48))
coordinate = st.floats(-8, 60, allow_nan=False, allow_infinity=False)
polygon_points = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12)


@st.composite
def mask_arrays(draw: st.DrawFn) -> np.ndarray:
    """Noise of any density, or a few rectangles (blob-like masks), from a drawn seed: cheap to generate."""
    height, width = draw(sizes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        return rng.random((height, width)) < draw(st.floats(0, 1))
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(draw(st.integers(0, 4))):
        top, left = rng.integers(0, height), rng.integers(0, width)
        mask[top : top + rng.integers(1, 20), left : left + rng.integers(1, 20)] = True
    return mask


# --------------------------------------------------------------------------------------------- rasterization
@SETTINGS
@given(size=sizes, polygons=st.lists(polygon_points, min_size=1, max_size=3))
def test_polygons_rasterize_as_pycocotools(size: tuple[int, int], polygons: list[list[tuple[float, float]]]) -> None:
    height, width = size
    arrays = [np.array(points) for points in polygons]
    reference = coco_polygons(arrays, height, width)
    ours = polygons_to_array(arrays, height, width)
    assert iou(ours, reference) >= 0.99
    assert np.array_equal(ours, reference)  # same rasterizer: identical, not just close
    png = source_png(("polygons", arrays, height, width))
    assert np.array_equal(pil_pixels(png), reference.astype(np.uint8))


@SETTINGS
@given(size=sizes, box=st.lists(coordinate, min_size=4, max_size=4), grid=st.sampled_from([1, 2, 4, 5, 10, 100, 0]))
def test_boxes_rasterize_exactly_as_pycocotools(size: tuple[int, int], box: list[float], grid: int) -> None:
    height, width = size
    if grid:  # annotation-like coordinates: whole pixels, halves, tenths, hundredths
        box = [round(value * grid) / grid for value in box]
    xmin, xmax = sorted(box[::2])
    ymin, ymax = sorted(box[1::2])
    reference = coco_box([xmin, ymin, xmax, ymax], height, width)
    assert np.array_equal(box_to_array([xmin, ymin, xmax, ymax], height, width), reference)
    assert np.array_equal(Mask.from_box([xmin, ymin, xmax, ymax], height, width).array, reference)
    assert np.array_equal(pil_pixels(source_png(("box", [xmin, ymin, xmax, ymax], height, width))), reference)


def test_integer_box_covers_its_pixels() -> None:
    mask = box_to_array([10, 20, 50, 80], 100, 100)
    assert mask.sum() == 40 * 60
    assert mask[20:80, 10:50].all()
    assert box_pixel_range(10, 50, 100) == (10, 50)
    assert box_pixel_range(-5, 500, 100) == (0, 100)
    assert box_pixel_range(7, 7, 100)[0] == box_pixel_range(7, 7, 100)[1]  # empty


def test_degenerate_polygons_cover_nothing() -> None:
    assert not polygons_to_array([], 5, 5).any()
    assert not polygons_to_array([np.array([[1, 1], [3, 3]])], 5, 5).any()  # 2 points: not a [x, y, w, h] box
    assert polygons_to_array([np.array([1, 1, 4, 1, 4, 4, 1, 4])], 5, 5).sum() == 9  # flat form accepted


def test_far_points_are_clipped_not_walked() -> None:
    """pycocotools walks each edge in 1/5-pixel steps: a point at 1e9 must not cost hours (it is clipped)."""
    far = [np.array([[1e9, 1.0], [4.0, 1.0], [4.0, 3.0], [1e9, 3.0]])]
    near = [np.array([[500.0, 1.0], [4.0, 1.0], [4.0, 3.0], [500.0, 3.0]])]  # same pixels, within reach
    assert np.array_equal(polygons_to_array(far, 6, 8), coco_polygons(near, 6, 8))
    assert np.array_equal(pil_pixels(source_png(("polygons", far, 6, 8))), coco_polygons(near, 6, 8))
    rng = np.random.default_rng(4)
    for _ in range(30):  # slanted edges from far away: clipping moves them by a fraction of a pixel
        points = rng.uniform(-2, 130, (6, 2))
        points[0] = rng.uniform(-3e4, 3e4, 2)  # far, yet pycocotools can still walk it as the reference
        reference = coco_polygons([points], 96, 128)
        ours = polygons_to_array([points], 96, 128)
        assert iou(ours, reference) >= 0.99
        assert np.logical_xor(ours, reference).sum() <= 8  # a few edge pixels at most
    assert np.array_equal(clip_polygon(near[0], (-10, -10, 1000, 1000)), near[0])  # inside: unchanged
    with pytest.raises(FormatError):
        polygons_to_array([np.array([[0, 0], [np.nan, 1], [2, 2]])], 4, 4)


# --------------------------------------------------------------------------------------------- tracing
@SETTINGS
@given(mask=mask_arrays())
def test_traced_polygons_rasterize_back_to_the_mask(mask: np.ndarray) -> None:
    polygons = array_to_polygons(mask)
    height, width = mask.shape
    back = polygons_to_array(polygons, height, width)
    assert np.array_equal(back, fill_holes(mask))  # exact, holes filled
    for polygon in polygons:
        assert polygon.shape[1] == 2 and len(polygon) >= 4
        assert np.all(polygon == np.round(polygon))  # on pixel corners


def test_tracing_shapes() -> None:
    assert array_to_polygons(np.zeros((4, 4), dtype=bool)) == []
    diagonal = np.array([[1, 0], [0, 1]], dtype=bool)
    assert len(array_to_polygons(diagonal)) == 2  # diagonal contact does not join regions
    ring = np.ones((5, 5), dtype=bool)
    ring[2, 2] = False
    (outer,) = array_to_polygons(ring)  # the hole is dropped: COCO / CVAT polygons cannot hold it
    assert sorted(map(tuple, outer.tolist())) == [(0, 0), (0, 5), (5, 0), (5, 5)]
    big_and_small = np.zeros((10, 10), dtype=bool)
    big_and_small[0, 0] = True
    big_and_small[4:9, 4:9] = True
    polygons = array_to_polygons(big_and_small)
    assert [len(np.unique(polygon, axis=0)) for polygon in polygons] == [4, 4]
    assert polygons_box(polygons[:1]).tolist() == [4, 4, 9, 9]  # largest first


def test_simplify_keeps_the_shape_within_tolerance() -> None:
    yy, xx = np.mgrid[:200, :200]
    disc = (xx - 100) ** 2 + (yy - 100) ** 2 < 80**2
    (exact,) = array_to_polygons(disc)
    (simple,) = array_to_polygons(disc, tolerance=1.0)
    assert len(simple) < len(exact) / 4
    assert set(map(tuple, simple.tolist())) <= set(map(tuple, exact.tolist()))  # only drops points
    assert iou(polygons_to_array([simple], 200, 200), disc) > 0.98
    assert simplify_polygon(exact, 0).shape == exact.shape


def test_boxes_of_shapes() -> None:
    mask = np.zeros((5, 6), dtype=bool)
    mask[1:3, 2:5] = True
    assert array_box(mask).tolist() == [2, 1, 5, 3]
    assert array_box(np.zeros((2, 2), dtype=bool)) is None
    assert polygons_box([]) is None


# --------------------------------------------------------------------------------------------- RLE and PNG
@SETTINGS
@given(mask=mask_arrays())
def test_rle_round_trip_and_counts(mask: np.ndarray) -> None:
    rle = array_to_rle(mask)
    json.dumps(rle)  # JSON-ready
    assert np.array_equal(rle_to_array(rle), mask)
    reference = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    assert np.array_equal(reference, mask)
    counts = rle_counts_from_string(rle["counts"])
    assert counts.sum() == mask.size
    uncompressed = {"size": list(mask.shape), "counts": counts.tolist()}
    assert np.array_equal(rle_to_array(uncompressed), mask)
    runs = column_runs_from_rle_counts(counts, mask.shape[0])
    assert np.array_equal(pil_pixels(encode_mask_png_from_column_runs(*runs, *mask.shape)), mask.astype(np.uint8))


def test_rle_with_empty_runs() -> None:
    """Uncompressed RLEs from other tools may hold empty runs; touching foreground runs must join, not cancel."""
    rle = {"size": [3, 3], "counts": [1, 2, 0, 2, 4]}
    expected = np.zeros(9, dtype=bool)
    expected[1:5] = True
    expected = expected.reshape(3, 3, order="F")
    assert np.array_equal(rle_to_array(rle), expected)
    assert np.array_equal(pil_pixels(source_png(("rle", rle, 3, 3))), expected)
    assert np.array_equal(Mask.from_rle({"size": [2, 2], "counts": [0, 2, 0, 2]}).array, np.ones((2, 2), dtype=bool))


def test_rle_with_bad_counts_is_refused() -> None:
    with pytest.raises(ValueError):
        rle_to_array({"size": [2, 2], "counts": [1, 1]})


@SETTINGS
@given(mask=mask_arrays())
def test_png_has_0_1_pixels_in_8_bit_grey(mask: np.ndarray) -> None:
    png = encode_mask_png(mask)
    assert png_size(png) == (mask.shape[1], mask.shape[0])
    assert np.array_equal(pil_pixels(png), mask.astype(np.uint8))  # values 0 and 1, mode L
    assert np.array_equal(decode_png_mask(png), mask)


def test_png_of_full_and_wrapping_masks() -> None:
    for height, width in [(1, 1), (3, 4), (5, 1), (1, 5)]:
        full = np.ones((height, width), dtype=bool)
        rle = array_to_rle(full)
        runs = column_runs_from_rle_counts(rle_counts_from_string(rle["counts"]), height)
        assert np.array_equal(pil_pixels(encode_mask_png_from_column_runs(*runs, height, width)), full)
    with pytest.raises(ValueError):
        encode_mask_png(np.zeros((0, 3), dtype=bool))


def test_decoding_reads_other_tools_pngs() -> None:
    pixels = np.zeros((4, 5), dtype=np.uint8)
    pixels[1:3, 1:4] = 255  # 0/255 masks (some tools) and 1-bit PNGs are read as 0/1 too
    for image in (Image.fromarray(pixels, mode="L"), Image.fromarray(pixels > 0)):
        out = io.BytesIO()
        image.save(out, format="PNG")
        assert np.array_equal(Mask.from_png(out.getvalue()).array, pixels > 0)
    with pytest.raises(FormatError):
        decode_png_mask(b"not a png")


# --------------------------------------------------------------------------------------------- lazy masks
def test_lazy_masks_rasterize_on_first_use_and_pickle_small() -> None:
    polygon = np.array([[10.5, 10.2], [300.7, 20.1], [200.3, 400.9]])
    mask = Mask.from_polygons([polygon], 480, 640)
    assert not mask.is_rasterized
    assert mask.shape == (480, 640) and not mask.is_rasterized  # the size is known without pixels
    payload = pickle.dumps(mask)
    assert len(payload) < 1000  # the polygon travels to workers, not 300 KB of pixels
    copy = pickle.loads(payload)
    assert np.array_equal(copy.array, coco_polygons([polygon], 480, 640))
    png = mask.png
    assert mask.is_rasterized
    assert np.array_equal(pil_pixels(png), copy.array)
    again = pickle.loads(pickle.dumps(mask))
    assert again.png == png  # encoded bytes travel back unchanged
    assert mask.source_polygons is not None and np.array_equal(mask.source_polygons[0], polygon)
    assert Mask.from_box([0, 0, 1, 1], 2, 2).source_polygons is None


def test_lazy_sources_agree() -> None:
    box = [2, 1, 7, 4]
    box_mask = Mask.from_box(box, 6, 9)
    rle = array_to_rle(box_to_array(box, 6, 9))
    union = Mask.union([Mask.from_rle(rle), [np.array([[0, 5], [2, 5], [2, 6], [0, 6]])]], 6, 9)
    assert Mask.from_rle(rle) == box_mask
    expected = box_to_array(box, 6, 9)
    expected[5, 0:2] = True
    assert np.array_equal(union.array, expected)
    assert np.array_equal(decode_png_mask(Mask.union([box_mask], 6, 9).png), box_to_array(box, 6, 9))
    with pytest.raises(ValueError):
        rasterize_source(("circle", None, 2, 2))
    with pytest.raises(ValueError):
        Mask()


def _png_of(mask: Mask) -> bytes:
    return mask.png


def test_lazy_masks_encode_in_worker_processes() -> None:
    rng = np.random.default_rng(3)
    masks = [Mask.from_polygons([rng.uniform(0, 64, (6, 2))], 48, 64) for _ in range(40)]
    in_workers = list(ordered_map(_png_of, masks, workers=2, chunk_size=4))
    assert not any(mask.is_rasterized for mask in masks)  # nothing was computed in this process
    assert in_workers == [mask.png for mask in masks]


# --------------------------------------------------------------------------------------------- record rules
def test_png_list_for_a_record() -> None:
    box = Mask.from_box([1, 1, 3, 3], 4, 5)
    assert masks_to_png_list([None, None], 4, 5) is None  # no key at all
    pngs = masks_to_png_list([box, None], 4, 5)
    assert pngs is not None and pngs[1] == empty_png_mask(4, 5)
    assert pil_pixels(pngs[1]).shape == (4, 5) and not pil_pixels(pngs[1]).any()  # full size, all zero
    with pytest.raises(FormatError, match="object 0"):
        masks_to_png_list([Mask.from_box([0, 0, 1, 1], 3, 3)], 4, 5)

    read = masks_from_png_list([pngs[0], pngs[1], b""], 3, 4, 5)
    assert read[0] == box and read[1] is None and read[2] is None  # all-zero and empty both mean "no mask"
    assert read[0].png == pngs[0]  # kept as read, not re-encoded
    assert masks_from_png_list([], 2, 4, 5) == [None, None]
    with pytest.raises(FormatError, match="2 masks for 3 objects"):
        masks_from_png_list(pngs, 3, 4, 5, path="x.tfrecord", record_index=7)
    with pytest.raises(FormatError, match="object 0"):
        masks_from_png_list([pngs[0]], 1, 5, 5)
    with pytest.raises(FormatError, match="x.tfrecord: record 7"):
        masks_from_png_list([b"junk"], 1, 4, 5, path="x.tfrecord", record_index=7)


@SETTINGS
@given(mask=mask_arrays(), level=st.sampled_from([0, 1, 6, 9]))
def test_blank_check_without_decoding(mask: np.ndarray, level: int) -> None:
    """png_is_blank agrees with a full decode on Pillow's PNGs (every row filter) and on tfodkit's."""
    out = io.BytesIO()
    Image.fromarray(mask.view(np.uint8) * 255, mode="L").save(out, format="PNG", compress_level=level)
    assert png_is_blank(out.getvalue()) is (not mask.any())
    assert png_is_blank(encode_mask_png(mask)) is (not mask.any())


def test_blank_check_on_other_pngs() -> None:
    out = io.BytesIO()
    Image.fromarray(np.zeros((3, 3), dtype=bool)).save(out, format="PNG")  # 1-bit: not checked without decoding
    assert png_is_blank(out.getvalue()) is None
    assert masks_from_png_list([out.getvalue()], 1, 3, 3) == [None]  # decoded, all zero: no mask
    good = encode_mask_png(np.eye(3, dtype=bool))
    with pytest.raises(ValueError):
        png_is_blank(good[:-30])  # cut inside the data
    with pytest.raises(ValueError):
        png_is_blank(b"GIF89a")
    lazy = masks_from_png_list([good], 1, 3, 3)[0]
    assert lazy is not None and np.array_equal(lazy.array, np.eye(3, dtype=bool))


def test_numerical_masks_round_trip() -> None:
    box = Mask.from_box([1, 0, 3, 2], 3, 4)
    values = masks_to_numerical([box, None], 3, 4)
    assert values.dtype == np.float32 and values.shape == (2 * 3 * 4,)
    assert set(values.tolist()) == {0.0, 1.0}
    back = masks_from_numerical(values, 2, 3, 4)
    assert back[0] == box and back[1] is None
    assert masks_from_numerical([], 3, 3, 4) == [None, None, None]
    with pytest.raises(FormatError, match="not 2 objects"):
        masks_from_numerical(values[:-1], 2, 3, 4)
    with pytest.raises(FormatError):
        masks_to_numerical([box], 4, 4)


# --------------------------------------------------------------------------------------------- end to end
def test_coco_polygons_to_tfrecord_masks(tmp_path: Path) -> None:
    """COCO -> TFRecord with --masks all: PNG masks equal pycocotools', boxes kept, box-only objects rectangular."""
    from tfodkit.formats import tfod
    from tfodkit.pipeline import convert
    from tfodkit.samples import make_jpeg
    from tfodkit.transforms import get_transform, mask_transforms

    rng = np.random.default_rng(5)
    (tmp_path / "coco" / "annotations").mkdir(parents=True)
    (tmp_path / "coco" / "images").mkdir()
    images, annotations, expected = [], [], {}
    for image_id in range(1, 5):
        width, height = 40 + 4 * image_id, 30
        name = f"{image_id:06d}.jpg"
        (tmp_path / "coco" / "images" / name).write_bytes(make_jpeg(width, height, image_id))
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for index in range(3):
            points = rng.uniform([0, 0], [width, height], (int(rng.integers(3, 8)), 2))
            segmentation = [points.reshape(-1).round(2).tolist()] if index < 2 else []
            bbox_points = np.array(segmentation[0]).reshape(-1, 2) if segmentation else points
            x0, y0 = bbox_points.min(axis=0)
            x1, y1 = bbox_points.max(axis=0)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1 + index % 2,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": 1.0,
                    "iscrowd": 0,
                    "segmentation": segmentation,
                }
            )
            if segmentation:
                mask = coco_polygons([np.array(segmentation[0])], height, width)
            else:
                mask = coco_box([x0, y0, x1, y1], height, width)
            expected.setdefault(name, []).append((mask, [x0, y0, x1, y1]))
    document = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }
    (tmp_path / "coco" / "annotations" / "instances_default.json").write_text(json.dumps(document))

    output = tmp_path / "out.tfrecord"
    convert(
        str(tmp_path / "coco"),
        str(output),
        from_format="coco",
        to_format="tfrecord",
        transforms=[get_transform(name) for name in mask_transforms("all")],
        workers=2,
    )
    items = list(tfod.read(str(output)))
    assert len(items) == 4
    for item in items:
        wanted = expected[item.image.name]
        assert len(item.objects) == len(wanted)
        for index, (mask, box) in enumerate(wanted):
            assert item.objects.masks[index] is not None
            assert np.array_equal(item.objects.masks[index].array, mask)
            assert np.allclose(item.objects.boxes[index], box, atol=1e-3)  # the box stays with its mask
