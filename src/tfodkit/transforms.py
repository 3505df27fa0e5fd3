"""Streaming transforms — the one place a conversion's transforms live.

Item transforms (``Item -> Item``, listed by :func:`transform_names`, by Datumaro's names) run through
:class:`TransformChain` / :func:`apply_transforms`; the transforms of a whole dataset (label maps, splits: see
:mod:`tfodkit.dataset_transforms`) are reached by name from here too, and :func:`apply_transforms` runs them in
their place among the item steps.

Item transforms never change their input (a list-backed dataset can be read again) and do no pixel work:
``polygons_to_masks`` and ``boxes_to_masks`` attach *lazy* masks (:meth:`Mask.from_polygons`,
:meth:`Mask.from_box`) that rasterize on first use — in the TFRecord writer's worker processes, where the PNG
encoding happens too. Objects keep their box always; unlike Datumaro, which replaces a polygon by its mask
and a masked object's box by nothing, tfodkit keeps polygons next to masks unless ``keep_polygons=False``, so
a later COCO/CVAT writer still writes the original points.

Example:
    >>> from tfodkit.model import ImageRef, Item, Objects
    >>> item = Item("a", ImageRef("a.jpg", width=4, height=3), Objects.from_boxes([[1, 0, 3, 2]], [1]))
    >>> masked = apply_transforms_to_item(item, ["polygons_to_masks", "boxes_to_masks"])
    >>> masked.objects.masks[0].array.astype(int).tolist(), item.objects.masks
    ([[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], [None])
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tfodkit import tolerance
from tfodkit.dataset_transforms import DATASET_TRANSFORMS, DatasetTransform, dataset_transform_from_spec
from tfodkit.errors import FormatError, TfodError, UsageError
from tfodkit.masks.raster import array_box, array_to_polygons, polygons_box
from tfodkit.model import AREA, GROUP, IS_CROWD, Dataset, Item, Mask, Objects

ItemTransform = Callable[[Item], Item | None]  # None drops the item


def _with_objects(item: Item, objects: Objects) -> Item:
    return dataclasses.replace(item, objects=objects)


def _copy_objects(
    objects: Objects, *, masks: list[Mask | None] | None = None, polygons: list[Any] | None = None
) -> Objects:
    return Objects(
        boxes=objects.boxes.copy(),
        label_ids=objects.label_ids.copy(),
        masks=list(objects.masks) if masks is None else masks,
        polygons=[list(polygon_list) for polygon_list in objects.polygons] if polygons is None else polygons,
        attributes={
            name: (column.copy() if isinstance(column, np.ndarray) else list(column))
            for name, column in objects.attributes.items()
        },
    )


def _image_shape(item: Item) -> tuple[int, int]:
    width, height = item.image.size  # from the annotation, else the image header
    return height, width


# --------------------------------------------------------------------------------------------- masks
def polygons_to_masks(item: Item, *, keep_polygons: bool = True) -> Item:
    """Give every object that has polygons and no mask the (lazy) mask of their union, as pycocotools draws it.

    The box stays; the polygons stay too unless ``keep_polygons`` is False. Objects that already have a mask keep it.

    Example:
        >>> from tfodkit.model import ImageRef, Item, Objects
        >>> square = np.array([[0, 0], [2, 0], [2, 1], [0, 1]])
        >>> objects = Objects(boxes=[[0, 0, 2, 2]], label_ids=[1], polygons=[[square]])
        >>> polygons_to_masks(Item("a", ImageRef("a.jpg", width=2, height=2), objects)).objects.masks[0].array.sum()
        np.int64(2)
    """
    objects = item.objects
    columns = zip(objects.polygons, objects.masks, strict=True)
    if not any(polygon_list and mask is None for polygon_list, mask in columns):
        return item
    height, width = _image_shape(item)
    masks = list(objects.masks)
    polygons = [list(polygon_list) for polygon_list in objects.polygons]
    for index, polygon_list in enumerate(objects.polygons):
        if polygon_list and masks[index] is None:
            if not all(np.isfinite(np.asarray(polygon, dtype=np.float64)).all() for polygon in polygon_list):
                # caught here, naming the item: the lazy mask would fail later in a worker
                raise FormatError(f"item {item.id!r}, object {index}: a polygon coordinate is not a finite number")
            masks[index] = Mask.from_polygons(polygon_list, height, width)
            if not keep_polygons:
                polygons[index] = []
    return _with_objects(item, _copy_objects(objects, masks=masks, polygons=polygons))


def boxes_to_masks(item: Item) -> Item:
    """Give every box-only object (no mask, no polygon) the (lazy) rectangular mask of its box.

    Pixels are exactly those pycocotools draws for the box polygon (see :func:`tfodkit.masks.raster.box_pixel_range`).
    Objects with polygons are shapes, not boxes: ``polygons_to_masks`` handles them (the order of the two
    transforms does not matter).

    Example:
        >>> from tfodkit.model import ImageRef, Item, Objects
        >>> item = Item("a", ImageRef("a.jpg", width=3, height=2), Objects.from_boxes([[1, 0, 3, 1]], [1]))
        >>> boxes_to_masks(item).objects.masks[0].array.astype(int).tolist()
        [[0, 1, 1], [0, 0, 0]]
    """
    objects = item.objects
    todo = [index for index in range(len(objects)) if objects.masks[index] is None and not objects.polygons[index]]
    if not todo:
        return item
    height, width = _image_shape(item)
    masks = list(objects.masks)
    for index in todo:
        masks[index] = Mask.from_box(objects.boxes[index], height, width)
    return _with_objects(item, _copy_objects(objects, masks=masks))


def masks_to_polygons(item: Item, *, tolerance: float = 0.0, keep_masks: bool = True) -> Item:
    """Give every object with a mask and no polygon the outline polygons of its mask (for COCO / CVAT output).

    A mask made from polygons gives those polygons back unchanged; any other mask is traced on pixel edges
    (:func:`tfodkit.masks.raster.array_to_polygons`: exact for masks without holes; ``tolerance`` > 0 simplifies).
    Crowd objects (``is_crowd``) keep their mask only: COCO writes them as RLE. Empty masks give no polygon.
    The box stays; the mask stays too unless ``keep_masks`` is False.

    Example:
        >>> from tfodkit.model import ImageRef, Item, Objects
        >>> objects = Objects(boxes=[[0, 0, 1, 1]], label_ids=[1], masks=[Mask.from_array(np.array([[1, 0]]))])
        >>> masks_to_polygons(Item("a", ImageRef("a.jpg", width=2, height=1), objects)).objects.polygons[0][0].tolist()
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    objects = item.objects
    crowd = objects.attribute(IS_CROWD, False)
    todo = [
        index
        for index in range(len(objects))
        if objects.masks[index] is not None and not objects.polygons[index] and not crowd[index]
    ]
    if not todo:
        return item
    masks = list(objects.masks)
    polygons = [list(polygon_list) for polygon_list in objects.polygons]
    for index in todo:
        mask = masks[index]
        assert mask is not None
        source = mask.source_polygons
        polygons[index] = source if source is not None else array_to_polygons(mask.array, tolerance=tolerance)
        if not keep_masks and polygons[index]:
            masks[index] = None
    return _with_objects(item, _copy_objects(objects, masks=masks, polygons=polygons))


def merge_instance_parts(item: Item) -> Item:
    """Merge objects sharing a non-zero ``group`` and a label into one object (COCO / CVAT instance parts).

    The merged object sits where the first part was. Its box is the union of the parts' boxes; its polygons are
    all parts' polygons; its mask, when any part has one, is the (lazy) union of the parts' masks and of the
    polygons of parts without a mask. Other attributes come from the part with the largest box (Datumaro's
    "group leader"); ``area`` is the parts' sum when every part has one.

    Example:
        >>> from tfodkit.model import ImageRef, Item, Objects
        >>> objects = Objects.from_boxes([[0, 0, 1, 1], [2, 2, 4, 4], [5, 5, 6, 6]], [1, 1, 1], group=[7, 7, 0])
        >>> merged = merge_instance_parts(Item("a", ImageRef("a.jpg", width=8, height=8), objects)).objects
        >>> merged.boxes.tolist(), merged.attribute("group")
        ([[0.0, 0.0, 4.0, 4.0], [5.0, 5.0, 6.0, 6.0]], [7, 0])
    """
    objects = item.objects
    groups = objects.attribute(GROUP, 0)
    parts_of: dict[tuple[int, int], list[int]] = {}
    for index, group in enumerate(groups):
        if group:  # None and 0 mean "no group"
            parts_of.setdefault((int(group), int(objects.label_ids[index])), []).append(index)
    merges = [indices for indices in parts_of.values() if len(indices) > 1]
    if not merges:
        return item

    pieces: list[Objects] = []
    merged_at = {indices[0]: indices for indices in merges}
    absorbed = {index for indices in merges for index in indices[1:]}
    shape: tuple[int, int] | None = None
    for index in range(len(objects)):
        if index in absorbed:
            continue
        if index not in merged_at:
            pieces.append(objects.select([index]))
            continue
        has_masks = any(objects.masks[part] is not None for part in merged_at[index])
        if has_masks and shape is None:
            shape = _image_shape(item)
        pieces.append(_merge_parts(objects, merged_at[index], shape if has_masks else None))
    return _with_objects(item, Objects.concatenate(pieces))


def _merge_parts(objects: Objects, parts: list[int], shape: tuple[int, int] | None) -> Objects:
    boxes = objects.boxes[parts]
    sizes = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    leader = parts[int(np.argmax(sizes))]
    merged = objects.select([leader])
    merged.boxes[0] = [boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()]
    merged.polygons[0] = [polygon for part in parts for polygon in objects.polygons[part]]
    if shape is not None:
        mask_parts: list[Any] = []
        for part in parts:
            mask = objects.masks[part]
            if mask is not None:
                mask_parts.append(mask)
            elif objects.polygons[part]:
                mask_parts.append(list(objects.polygons[part]))
        merged.masks[0] = Mask.union(mask_parts, *shape)
    if AREA in objects.attributes:
        areas = objects.attribute(AREA)
        if all(areas[part] is not None for part in parts):
            merged.attributes[AREA][0] = float(sum(areas[part] for part in parts))
    return merged


# --------------------------------------------------------------------------------------------- boxes
def shapes_to_boxes(item: Item) -> Item:
    """Set each object's box to the tight box of its shape: its polygons, else its mask's pixels (decoded here).
    A repair for sources whose boxes disagree with their shapes; box-only objects keep their box, and so do
    objects whose mask is empty.

    Example:
        >>> from tfodkit.model import ImageRef, Item, Objects
        >>> objects = Objects(boxes=[[0, 0, 9, 9]], label_ids=[1], polygons=[[np.array([[1, 2], [3, 2], [3, 5]])]])
        >>> shapes_to_boxes(Item("a", ImageRef("a.jpg", width=9, height=9), objects)).objects.boxes.tolist()
        [[1.0, 2.0, 3.0, 5.0]]
    """
    objects = item.objects
    if not (objects.has_polygons or objects.has_masks):
        return item
    copied = _copy_objects(objects)
    for index, (polygon_list, mask) in enumerate(zip(objects.polygons, objects.masks, strict=True)):
        box = polygons_box(polygon_list) if polygon_list else None
        if box is None and mask is not None:
            box = array_box(mask.array)
        if box is not None:
            copied.boxes[index] = box
    return _with_objects(item, copied)


# --------------------------------------------------------------------------------------------- registry
# Names as Datumaro's `transform -t NAME` has them (merge_instance_segments is Datumaro's name for
# merge_instance_parts).
TRANSFORMS: dict[str, Callable[..., Item]] = {
    "polygons_to_masks": polygons_to_masks,
    "boxes_to_masks": boxes_to_masks,
    "masks_to_polygons": masks_to_polygons,
    "merge_instance_parts": merge_instance_parts,
    "merge_instance_segments": merge_instance_parts,
    "shapes_to_boxes": shapes_to_boxes,
}


def transform_names() -> list[str]:
    """Every name ``-t`` accepts: the item transforms, then the dataset transforms (labels, splits)."""
    return [*TRANSFORMS, *DATASET_TRANSFORMS]


def get_transform(name: str, **options: Any) -> ItemTransform:
    """The item transform ``name`` with keyword ``options`` bound (e.g. ``keep_polygons=False``).

    Example:
        >>> get_transform("polygons_to_masks", keep_polygons=False).keywords
        {'keep_polygons': False}
    """
    key = name.replace("-", "_")
    if key in DATASET_TRANSFORMS:
        return DatasetTransform(key, tuple(options.items()))  # type: ignore[return-value]  # see apply_transforms
    function = TRANSFORMS.get(key)
    if function is None:
        raise UsageError(f"unknown transform {name!r}; known transforms: {', '.join(transform_names())}")
    if not options:
        return function
    try:
        inspect.signature(function).bind(None, **options)
    except TypeError as error:
        raise UsageError(f"transform {name!r}: {error}") from None
    return functools.partial(function, **options)


def transform_from_spec(spec: str) -> ItemTransform:
    """An item transform from a command-line spec ``NAME`` or ``NAME:option=value,option=value``.

    Values are read as the type of the option's default (``true``/``false`` for flags, numbers for numbers).

    Example:
        >>> transform_from_spec("masks_to_polygons:tolerance=0.5,keep_masks=false").keywords
        {'tolerance': 0.5, 'keep_masks': False}
    """
    name, _, option_text = spec.partition(":")
    if name.strip().replace("-", "_") in DATASET_TRANSFORMS:
        return dataset_transform_from_spec(name.strip().replace("-", "_"), option_text)  # type: ignore[return-value]
    function = TRANSFORMS.get(name.strip().replace("-", "_"))
    if function is None:
        raise UsageError(f"unknown transform {name!r}; known transforms: {', '.join(transform_names())}")
    parameters = inspect.signature(function).parameters
    options: dict[str, Any] = {}
    for pair in filter(None, (part.strip() for part in option_text.split(","))):
        key, equals, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or key not in parameters or parameters[key].kind != inspect.Parameter.KEYWORD_ONLY:
            known = [
                option for option, parameter in parameters.items() if parameter.kind == inspect.Parameter.KEYWORD_ONLY
            ]
            raise UsageError(f"transform {name!r}: bad option {pair!r}; its options: {', '.join(known) or 'none'}")
        options[key] = _option_value(parameters[key].default, text.strip(), f"{name}:{key}")
    return get_transform(name.strip(), **options)


def _option_value(default: Any, text: str, where: str) -> Any:
    if isinstance(default, bool):
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"{where}: expected true or false, got {text!r}")
    if isinstance(default, (int, float)):
        try:
            return type(default)(text)
        except ValueError:
            raise UsageError(f"{where}: expected a number, got {text!r}") from None
    return text


class TransformChain:
    """Several item transforms applied in order — the one way a conversion applies transforms (local and Beam).

    A step returning None drops the item. Under ``on_error="skip"`` (:func:`tfodkit.tolerance.skipping_bad_items`)
    an item whose transform fails is counted and dropped; otherwise the error stops the run. Picklable when its
    steps are (module functions, partials).

    Example:
        >>> chain = TransformChain(["polygons_to_masks", "boxes_to_masks"])
        >>> chain.names
        ['polygons_to_masks', 'boxes_to_masks']
    """

    def __init__(self, steps: Iterable[str | ItemTransform]) -> None:
        self.steps: list[ItemTransform] = [get_transform(step) if isinstance(step, str) else step for step in steps]
        for step in self.steps:
            if isinstance(step, DatasetTransform):  # it needs the whole dataset: apply_transforms runs it
                raise UsageError(f"{step.name} transforms a dataset, not an item: use apply_transforms")

    @property
    def names(self) -> list[str]:
        return [getattr(getattr(step, "func", step), "__name__", repr(step)) for step in self.steps]

    def __call__(self, item: Item) -> Item | None:
        result: Item | None = item
        for step in self.steps:
            try:
                result = step(result)  # type: ignore[arg-type]  # None stops the loop below
            except TfodError as error:
                if tolerance.current() is None:
                    raise
                # --on-error skip: this item is counted and left out, its error naming it
                tolerance.skip_or_raise(
                    type(error)(
                        f"item {item.id!r}: {error.message}",
                        path=error.path,
                        record_index=error.record_index,
                        offset=error.offset,
                        line=error.line,
                    )
                )
                return None
            if result is None:
                return None
        return result


def apply_transforms_to_item(item: Item, steps: Iterable[str | ItemTransform]) -> Item | None:
    """Apply ``steps`` (names or functions) to one item (None when a step drops it)."""
    return TransformChain(steps)(item)


def apply_transforms(dataset: Dataset, steps: Iterable[str | ItemTransform]) -> Dataset:
    """The dataset with ``steps`` applied to each item as it streams by (nothing is read here); what
    :func:`tfodkit.convert` does with its ``transforms``.

    Example:
        >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
        >>> items = [Item("a", ImageRef("a.jpg", width=2, height=2), Objects.from_boxes([[0, 0, 1, 1]], [1]))]
        >>> masked = apply_transforms(Dataset(items, LabelMap.from_names(["cat"])), ["boxes_to_masks"])
        >>> [int(item.objects.masks[0].array.sum()) for item in masked]
        [1]
    """
    pending: list[str | ItemTransform] = []
    for step in [get_transform(step) if isinstance(step, str) else step for step in steps]:
        if isinstance(step, DatasetTransform):  # the item steps before it, then it, in order
            dataset = step(_chained(dataset, pending))
            pending = []
        else:
            pending.append(step)
    return _chained(dataset, pending)


def _chained(dataset: Dataset, steps: Sequence[str | ItemTransform]) -> Dataset:
    chain = TransformChain(steps)
    return dataset.map(chain) if chain.steps else dataset


# ``tfod convert --masks MODE`` -> the transforms it runs, in order
MASK_MODES: dict[str, list[str]] = {
    "none": [],
    "polygons": ["polygons_to_masks"],
    "boxes": ["boxes_to_masks"],
    "all": ["polygons_to_masks", "boxes_to_masks"],  # the seed's flow: polygons first, then bare boxes
}


def rasterizes_polygons(transforms: Sequence[ItemTransform]) -> bool:
    """Whether one of ``transforms`` is ``polygons_to_masks`` (its options bound or not).

    Example:
        >>> rasterizes_polygons([get_transform("boxes_to_masks")]), rasterizes_polygons([polygons_to_masks])
        (False, True)
    """
    return any(getattr(transform, "func", transform) is polygons_to_masks for transform in transforms)


def mask_transforms(mode: str) -> list[str]:
    """The transform names behind ``tfod convert --masks MODE`` (``none``, ``polygons``, ``boxes``, ``all``).

    Example:
        >>> mask_transforms("all")
        ['polygons_to_masks', 'boxes_to_masks']
    """
    if mode not in MASK_MODES:
        raise UsageError(f"unknown --masks mode {mode!r}; choose one of {', '.join(MASK_MODES)}")
    return list(MASK_MODES[mode])
