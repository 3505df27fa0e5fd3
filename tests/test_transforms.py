"""Item transforms (polygons/boxes <-> masks, instance parts), the registry, and label remapping."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from tfodkit.dataset_transforms import DATASET_TRANSFORMS, filter_labels, remap_labels, retarget_labels
from tfodkit.errors import FormatError, UsageError
from tfodkit.masks.raster import array_to_polygons, box_to_array, polygons_to_array
from tfodkit.model import AREA, GROUP, IS_CROWD, Dataset, ImageRef, Item, LabelMap, Mask, Objects
from tfodkit.transforms import (
    TRANSFORMS,
    TransformChain,
    apply_transforms,
    apply_transforms_to_item,
    boxes_to_masks,
    get_transform,
    mask_transforms,
    masks_to_polygons,
    merge_instance_parts,
    polygons_to_masks,
    shapes_to_boxes,
    transform_from_spec,
    transform_names,
)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

HEIGHT, WIDTH = 40, 60
TRIANGLE = np.array([[5.5, 4.2], [30.1, 6.7], [12.3, 33.9]])
SQUARE = np.array([[40, 10], [50, 10], [50, 20], [40, 20]], dtype=np.float64)


def coco_mask_of(polygons: list[np.ndarray]) -> np.ndarray:
    rles = coco_mask.frPyObjects([polygon.reshape(-1).tolist() for polygon in polygons], HEIGHT, WIDTH)
    return coco_mask.decode(coco_mask.merge(rles)).astype(bool)


def make_item(**attributes: list) -> Item:
    """Object 0: a triangle; object 1: a bare box; object 2: a square polygon; object 3: a mask only."""
    drawn = np.zeros((HEIGHT, WIDTH), dtype=bool)
    drawn[30:35, 45:58] = True
    objects = Objects(
        boxes=[[5.5, 4.2, 30.1, 33.9], [2.5, 20.25, 20.75, 38.5], [40, 10, 50, 20], [45, 30, 58, 35]],
        label_ids=[1, 2, 1, 2],
        masks=[None, None, None, Mask.from_array(drawn)],
        polygons=[[TRIANGLE], [], [SQUARE], []],
        attributes=dict(attributes),
    )
    return Item("img", ImageRef("img.jpg", width=WIDTH, height=HEIGHT), objects)


def test_polygons_to_masks_keeps_boxes_and_polygons() -> None:
    item = make_item()
    result = polygons_to_masks(item)
    masks = result.objects.masks
    assert masks[0] is not None and not masks[0].is_rasterized  # lazy: pixels are made by the writer's workers
    assert np.array_equal(masks[0].array, coco_mask_of([TRIANGLE]))
    assert np.array_equal(masks[2].array, coco_mask_of([SQUARE]))
    assert masks[1] is None  # a bare box is boxes_to_masks' job
    assert masks[3] is item.objects.masks[3]  # an existing mask is kept
    assert np.array_equal(result.objects.boxes, item.objects.boxes)
    assert result.objects.polygons[0][0] is TRIANGLE
    assert item.objects.masks[0] is None  # the input item is unchanged (datasets can be read twice)
    dropped = polygons_to_masks(item, keep_polygons=False)
    assert dropped.objects.polygons[0] == [] and dropped.objects.masks[0] is not None


def test_polygons_to_masks_refuses_non_finite_points() -> None:
    objects = Objects(boxes=[[0, 0, 1, 1]], label_ids=[1], polygons=[[np.array([[0, 0], [np.inf, 0], [1, 1]])]])
    with pytest.raises(FormatError, match="'bad', object 0"):
        polygons_to_masks(Item("bad", ImageRef("bad.jpg", width=4, height=4), objects))


def test_boxes_to_masks_only_fills_bare_boxes() -> None:
    item = make_item()
    result = boxes_to_masks(item)
    assert np.array_equal(result.objects.masks[1].array, box_to_array([2.5, 20.25, 20.75, 38.5], HEIGHT, WIDTH))
    assert result.objects.masks[0] is None and result.objects.masks[2] is None  # polygons are shapes
    reference = coco_mask.decode(
        coco_mask.frPyObjects([[2.5, 20.25, 20.75, 20.25, 20.75, 38.5, 2.5, 38.5]], HEIGHT, WIDTH)
    )[:, :, 0].astype(bool)
    assert np.array_equal(result.objects.masks[1].array, reference)  # pycocotools' pixels exactly


def test_mask_order_does_not_matter_and_all_objects_get_masks() -> None:
    item = make_item()
    first = apply_transforms_to_item(item, ["polygons_to_masks", "boxes_to_masks"])
    second = apply_transforms_to_item(item, ["boxes_to_masks", "polygons_to_masks"])
    assert all(mask is not None for mask in first.objects.masks)
    assert [mask.png for mask in first.objects.masks] == [mask.png for mask in second.objects.masks]
    assert mask_transforms("all") == ["polygons_to_masks", "boxes_to_masks"]
    with pytest.raises(UsageError):
        mask_transforms("some")


def test_masks_to_polygons_traces_or_gives_back_polygons() -> None:
    item = polygons_to_masks(make_item(), keep_polygons=False)
    result = masks_to_polygons(item)
    assert np.array_equal(result.objects.polygons[0][0], TRIANGLE)  # from a polygon mask: the polygon itself
    traced = result.objects.polygons[3]
    assert np.array_equal(polygons_to_array(traced, HEIGHT, WIDTH), item.objects.masks[3].array)
    assert result.objects.polygons[1] == []  # no mask, no polygon
    assert result.objects.masks[3] is item.objects.masks[3]
    without = masks_to_polygons(item, keep_masks=False)
    assert without.objects.masks[3] is None and without.objects.masks[1] is None


def test_masks_to_polygons_leaves_crowds_and_empty_masks() -> None:
    empty = Mask.from_array(np.zeros((HEIGHT, WIDTH), dtype=bool))
    crowd = Mask.from_box([1, 1, 9, 9], HEIGHT, WIDTH)
    objects = Objects(
        boxes=[[1, 1, 9, 9]] * 2, label_ids=[1, 1], masks=[crowd, empty], attributes={IS_CROWD: [True, False]}
    )
    result = masks_to_polygons(Item("a", ImageRef("a.jpg", width=WIDTH, height=HEIGHT), objects), keep_masks=False)
    assert result.objects.polygons == [[], []]
    assert result.objects.masks[0] is crowd and result.objects.masks[1] is empty


def test_merge_instance_parts() -> None:
    drawn = np.zeros((HEIGHT, WIDTH), dtype=bool)
    drawn[0:3, 0:3] = True
    objects = Objects(
        boxes=[[5, 4, 30, 34], [0, 0, 3, 3], [40, 10, 50, 20], [1, 1, 2, 2], [40, 10, 50, 20]],
        label_ids=[1, 1, 1, 1, 2],
        masks=[None, Mask.from_array(drawn), None, None, None],
        polygons=[[TRIANGLE], [], [SQUARE], [], [SQUARE]],
        attributes={GROUP: [3, 3, 3, 0, 3], AREA: [100.0, 9.0, 100.0, 1.0, 100.0], "note": ["a", "b", "c", "d", "e"]},
    )
    item = Item("a", ImageRef("a.jpg", width=WIDTH, height=HEIGHT), objects)
    merged = merge_instance_parts(item).objects
    assert len(merged) == 3  # parts 0, 1, 2 (group 3, label 1) -> one; group 0 and the other label stay
    assert merged.boxes[0].tolist() == [0, 0, 50, 34]
    assert merged.label_ids.tolist() == [1, 1, 2]
    assert merged.attribute("note") == ["a", "d", "e"]  # the leader (largest box) gives the attributes
    assert merged.attribute(AREA)[0] == 209.0
    assert len(merged.polygons[0]) == 2
    expected = coco_mask_of([TRIANGLE]) | drawn | coco_mask_of([SQUARE])
    assert np.array_equal(merged.masks[0].array, expected)
    assert merged.masks[1] is None and merged.masks[2] is None
    assert merge_instance_parts(make_item()) is not None
    untouched = make_item(group=[0, 0, 0, 0])
    assert merge_instance_parts(untouched) is untouched


def test_merge_polygon_only_parts_stays_polygons() -> None:
    objects = Objects(
        boxes=[[5, 4, 30, 34], [40, 10, 50, 20]],
        label_ids=[1, 1],
        polygons=[[TRIANGLE], [SQUARE]],
        attributes={GROUP: [1, 1]},
    )
    merged = merge_instance_parts(Item("a", ImageRef("a.jpg", width=WIDTH, height=HEIGHT), objects)).objects
    assert merged.masks == [None]
    masked = polygons_to_masks(Item("a", ImageRef("a.jpg", width=WIDTH, height=HEIGHT), merged))
    assert np.array_equal(masked.objects.masks[0].array, coco_mask_of([TRIANGLE, SQUARE]))


def test_shapes_to_boxes() -> None:
    result = shapes_to_boxes(make_item()).objects.boxes
    assert result[0].tolist() == [5.5, 4.2, 30.1, 33.9]
    assert result[1].tolist() == [2.5, 20.25, 20.75, 38.5]  # box only: unchanged
    assert result[3].tolist() == [45, 30, 58, 35]  # from the mask's pixels


def test_registry_and_chains() -> None:
    assert set(TRANSFORMS) >= {
        "polygons_to_masks",
        "boxes_to_masks",
        "masks_to_polygons",
        "merge_instance_parts",
        "merge_instance_segments",
    }
    with pytest.raises(UsageError, match="known transforms"):
        get_transform("polygons_to_mask")
    with pytest.raises(UsageError):
        get_transform("boxes_to_masks", keep_polygons=False)  # boxes_to_masks takes no such option
    chain = TransformChain([get_transform("polygons-to-masks", keep_polygons=False), "boxes_to_masks"])
    assert chain.names == ["polygons_to_masks", "boxes_to_masks"]
    copy = pickle.loads(pickle.dumps(chain))
    expected = [mask.png for mask in chain(make_item()).objects.masks]
    assert [mask.png for mask in copy(make_item()).objects.masks] == expected


def test_transform_specs_from_the_command_line() -> None:
    step = transform_from_spec("masks_to_polygons:tolerance=1.5, keep-masks=no")
    assert step.keywords == {"tolerance": 1.5, "keep_masks": False}
    assert transform_from_spec("boxes_to_masks") is boxes_to_masks
    for bad in (
        "masks_to_polygons:tolerance=wide",
        "masks_to_polygons:keep_masks=maybe",
        "boxes_to_masks:keep_polygons=false",
        "polygons_to_masks:keep_polygons",
        "shapes:x=1",
    ):
        with pytest.raises(UsageError):
            transform_from_spec(bad)


def test_apply_transforms_streams() -> None:
    reads = []

    def items():
        for index in range(3):
            reads.append(index)
            yield make_item()

    dataset = apply_transforms(Dataset(items, LabelMap.from_names(["a", "b"])), ["boxes_to_masks"])
    assert reads == []  # nothing read until iterated
    iterator = iter(dataset)
    first = next(iterator)
    assert reads == [0] and first.objects.masks[1] is not None
    assert len(list(dataset)) == 3  # re-iterable
    assert apply_transforms(dataset, []) is dataset


def _label_item(label_ids: list[int]) -> Item:
    objects = Objects.from_boxes([[0, 0, 1, 1]] * len(label_ids), label_ids)
    return Item("a", ImageRef("a.jpg", width=9, height=9), objects)


def test_remap_labels_keeps_ids_stable() -> None:
    source = LabelMap.from_names(["cat", "dog", "car", "bus"])
    dataset = Dataset([_label_item([1, 2, 3, 4])], source)
    remapped = remap_labels(dataset, {"dog": "cat", "car": "vehicle", "bus": None})
    assert [(label.id, label.name) for label in remapped.label_map] == [(1, "cat"), (3, "vehicle")]
    assert [item.objects.label_ids.tolist() for item in remapped] == [[1, 1, 3]]
    only = filter_labels(dataset, ["car", "dog"])
    assert [(label.id, label.name) for label in only.label_map] == [(2, "dog"), (3, "car")]
    assert [item.objects.label_ids.tolist() for item in only] == [[2, 3]]
    with pytest.raises(UsageError):
        remap_labels(dataset, {}, default="drop")


def test_remap_labels_found_while_reading() -> None:
    labels = LabelMap.from_names(["cat"])

    def items():
        labels.get_or_add("dog")  # a reader discovering a label mid-stream
        yield _label_item([1, 2])

    remapped = remap_labels(Dataset(items, labels), {"cat": "animal"})
    assert [item.objects.label_ids.tolist() for item in remapped] == [[1, 2]]
    assert [(label.id, label.name) for label in remapped.label_map] == [(1, "animal"), (2, "dog")]


def _labels_of(dataset: Dataset) -> list[list[int]]:
    return [item.objects.label_ids.tolist() for item in dataset]


@pytest.mark.parametrize(
    "relabel",
    [
        lambda dataset: retarget_labels(dataset, ["dog", "cat"]),  # ids swap: [1, 2] -> [2, 1]
        lambda dataset: remap_labels(dataset, {"cat": "dog", "dog": "cat"}),
        lambda dataset: filter_labels(dataset, ["dog"]),
    ],
    ids=["retarget_labels", "remap_labels", "filter_labels"],
)
def test_label_transforms_leave_their_input_alone(relabel) -> None:
    # A list-backed dataset hands out the same Item objects on every pass: a transform that edited them in place
    # turned [2, 1] back into [1, 2] on the second pass (the bug retarget_labels had).
    items = [_label_item([1, 2]), _label_item([2, 2, 1])]
    dataset = Dataset(items, LabelMap.from_names(["cat", "dog"]))
    before = [(id(item.objects), item.objects.label_ids.copy()) for item in items]
    relabelled = relabel(dataset)
    first = _labels_of(relabelled)
    assert _labels_of(relabelled) == first  # a second pass gives the same labels
    assert _labels_of(relabel(dataset)) == first  # and so does a new transform of the same input
    for item, (objects_id, label_ids) in zip(items, before, strict=True):
        assert id(item.objects) == objects_id and item.objects.label_ids.tolist() == label_ids.tolist()
    assert _labels_of(dataset) == [[1, 2], [2, 2, 1]]


def test_retarget_labels_matches_names_and_counts_the_dropped() -> None:
    items = [_label_item([1, 2, 3]), _label_item([])]
    dropped: Counter[str] = Counter()
    retargeted = retarget_labels(Dataset(items, LabelMap.from_names(["cat", "dog", "car"])), ["car", "cat"], dropped)
    assert _labels_of(retargeted) == [[2, 1], []]
    assert retargeted.label_map.names == ["car", "cat"]
    assert dropped == Counter({"dog": 1})


def test_target_labels_are_counted_once_when_a_writer_reads_twice(tmp_path, monkeypatch) -> None:
    import tfodkit
    from tfodkit.formats import coco
    from tfodkit.samples import make_cvat_dataset

    source = make_cvat_dataset(tmp_path / "cvat", images=3)
    original = coco.write

    def write_after_a_look(dataset: Dataset, path: str, *, save_images: bool = True) -> None:
        sum(1 for _ in dataset)  # a writer taking a first pass (e.g. to collect names) before writing
        original(dataset, path, save_images=save_images)

    one_pass = tfodkit.convert(
        str(source),
        str(tmp_path / "a"),
        from_format="cvat",
        to_format="coco",
        target_labels=["car"],
        write_options={"save_images": False},
    )
    monkeypatch.setattr(coco, "write", write_after_a_look)
    two_passes = tfodkit.convert(
        str(source),
        str(tmp_path / "b"),
        from_format="cvat",
        to_format="coco",
        target_labels=["car"],
        write_options={"save_images": False},
    )
    assert one_pass.unmatched_labels and two_passes.unmatched_labels == one_pass.unmatched_labels
    assert two_passes.objects == one_pass.objects


def test_a_failing_transform_is_skipped_and_named_under_on_error_skip(tmp_path) -> None:
    import tfodkit
    from tfodkit.samples import make_cvat_dataset

    source = make_cvat_dataset(tmp_path / "cvat", images=3)
    first_id = next(iter(tfodkit.read_dataset(str(source), "cvat"))).id

    def fail_on_first(item: Item) -> Item:
        if item.id == first_id:
            raise FormatError("cannot transform this one")
        return item

    with pytest.raises(FormatError, match="cannot transform this one"):
        tfodkit.convert(
            str(source),
            str(tmp_path / "a.tfrecord"),
            from_format="cvat",
            to_format="tfrecord",
            transforms=[fail_on_first],
        )
    report = tfodkit.convert(
        str(source),
        str(tmp_path / "b.tfrecord"),
        from_format="cvat",
        to_format="tfrecord",
        transforms=[fail_on_first],
        on_error="skip",
    )
    assert (report.items, report.skipped) == (2, 1)
    assert report.skipped_examples == [f"item {first_id!r}: cannot transform this one"]


def test_transform_names_are_the_registry() -> None:
    assert transform_names() == [*TRANSFORMS, *DATASET_TRANSFORMS]
    assert {
        "polygons_to_masks",
        "boxes_to_masks",
        "masks_to_polygons",
        "merge_instance_parts",
        "shapes_to_boxes",
    } <= set(transform_names())


def test_traced_masks_round_trip_through_polygons_to_masks() -> None:
    drawn = np.zeros((HEIGHT, WIDTH), dtype=bool)
    drawn[5:15, 5:25] = True
    drawn[20:30, 30:31] = True
    objects = Objects(boxes=[[5, 5, 31, 30]], label_ids=[1], masks=[Mask.from_array(drawn)])
    item = Item("a", ImageRef("a.jpg", width=WIDTH, height=HEIGHT), objects)
    as_polygons = masks_to_polygons(item, keep_masks=False)
    assert len(as_polygons.objects.polygons[0]) == len(array_to_polygons(drawn)) == 2
    back = polygons_to_masks(as_polygons)
    assert np.array_equal(back.objects.masks[0].array, drawn)
