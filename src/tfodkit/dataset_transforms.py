"""Transforms of a whole dataset: they change its label map (:func:`remap_labels`, :func:`filter_labels`,
:func:`retarget_labels`) or need state across the pass (:func:`random_split`).

Reachable by name from ``-t`` (:data:`DATASET_TRANSFORMS`, :class:`DatasetTransform`); :func:`tfodkit.transforms.
apply_transforms` runs them in their place among the item transforms, so :mod:`tfodkit.transforms` stays the one
path a conversion's transforms take. Like the item transforms they never change their input items.

Example:
    >>> from tfodkit.model import ImageRef, Objects
    >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]] * 2, [1, 2]))]
    >>> kept = filter_labels(Dataset(items, LabelMap.from_names(["cat", "dog"])), ["dog"])
    >>> [item.objects.label_ids.tolist() for item in kept], kept.label_map.names, items[0].objects.label_ids.tolist()
    ([[2]], ['dog'], [1, 2])
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tfodkit.errors import UsageError
from tfodkit.model import Dataset, Item, LabelMap


# --------------------------------------------------------------------------------------------- labels
def remap_labels(dataset: Dataset, mapping: Mapping[str, str | None], *, default: str = "keep") -> Dataset:
    """Rename, merge or delete labels: ``mapping`` maps a source name to a new name, or to None / "" to delete
    its objects. Labels not in ``mapping`` are kept (``default="keep"``) or deleted (``default="delete"``).

    Ids are stable: a kept label keeps its id; a new name takes the id of its own source label if that keeps
    its name, else of the first source label mapped to it. (Datumaro's ``remap_labels`` renumbers.)

    Example:
        >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
        >>> items = [Item("a", ImageRef("a.jpg", width=9, height=9), Objects.from_boxes([[0, 0, 1, 1]] * 3, [1, 2, 3]))]
        >>> labels = LabelMap.from_names(["cat", "dog", "car"])
        >>> remapped = remap_labels(Dataset(items, labels), {"dog": "cat", "car": None})
        >>> remapped.label_map, [item.objects.label_ids.tolist() for item in remapped]
        (LabelMap([(1, 'cat')]), [[1, 1]])
    """
    if default not in ("keep", "delete"):
        raise UsageError(f"remap_labels: default must be 'keep' or 'delete', not {default!r}")
    source = dataset.label_map
    target = LabelMap()
    new_id_of: dict[int, int | None] = {}

    def target_name(name: str) -> str | None:
        if name in mapping:
            return mapping[name] or None
        return name if default == "keep" else None

    def resolve_known() -> None:
        pending = [label for label in source if label.id not in new_id_of]
        for label in pending:  # names that keep themselves keep their id first
            if target_name(label.name) == label.name and target.id_of(label.name) is None:
                target.add_copy(label, label.id if label.id not in target else None)  # points and skeleton too
        for label in pending:
            name = target_name(label.name)
            if name is None:
                new_id_of[label.id] = None
                continue
            if target.id_of(name) is None:
                target.add(name, label.id if label.id not in target else None)
            new_id_of[label.id] = target.id_of(name)

    resolve_known()

    def remap(item: Item) -> Item:
        objects = item.objects
        if not len(objects):
            return item
        if any(int(label_id) not in new_id_of for label_id in objects.label_ids):
            resolve_known()  # labels a reader discovered while reading
        return _relabelled(item, [new_id_of.get(int(label_id)) for label_id in objects.label_ids])

    remapped = dataset.map(remap)
    remapped.label_map = target
    return remapped


def filter_labels(dataset: Dataset, keep: Sequence[str]) -> Dataset:
    """Keep only the objects (and label-map entries) of the labels named in ``keep``; images stay.

    Example:
        >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
        >>> items = [Item("a", ImageRef("a.jpg", width=9, height=9), Objects.from_boxes([[0, 0, 1, 1]] * 2, [1, 2]))]
        >>> only_b = filter_labels(Dataset(items, LabelMap.from_names(["a", "b"])), ["b"])
        >>> [item.objects.label_ids.tolist() for item in only_b]
        [[2]]
    """
    return remap_labels(dataset, {name: name for name in keep}, default="delete")


def retarget_labels(dataset: Dataset, names: Sequence[str], unmatched: Counter[str] | None = None) -> Dataset:
    """``dataset`` with its labels matched by name to ``names`` (ids 1..N in that order), as CVAT matches an
    imported dataset to a task's labels (``tfod … --target-labels``). Objects with other labels are dropped and
    counted per name in ``unmatched`` (one pass over the result counts once; clear it between passes).

    Example:
        >>> from tfodkit.model import ImageRef, LabelMap, Objects
        >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 1, 1]] * 2, [1, 2]))]
        >>> dropped = Counter()
        >>> retargeted = retarget_labels(Dataset(items, LabelMap.from_names(["cat", "dog"])), ["dog"], dropped)
        >>> [item.objects.label_ids.tolist() for item in retargeted], dict(dropped)
        ([[1]], {'cat': 1})
    """
    target = LabelMap.from_names(names)
    counts = unmatched if unmatched is not None else Counter()
    source_labels = dataset.label_map

    def retarget(item: Item) -> Item:
        if not len(item.objects):
            return item
        names_of_objects = [
            source_labels.name_of(label_id) or str(label_id) for label_id in item.objects.label_ids.tolist()
        ]
        new_ids = [target.id_of(name) for name in names_of_objects]
        counts.update(name for name, new_id in zip(names_of_objects, new_ids, strict=True) if new_id is None)
        return _relabelled(item, new_ids)

    retargeted = dataset.map(retarget)
    retargeted.label_map = target
    return retargeted


def _relabelled(item: Item, new_ids: Sequence[int | None]) -> Item:
    """A new item whose objects carry ``new_ids`` (one per object; None drops the object); ``item`` is untouched."""
    objects = item.objects
    keep = np.array([new_id is not None for new_id in new_ids], dtype=bool)
    kept = objects.select(keep)  # new columns: the input item's objects stay as they were
    kept.label_ids = np.array([new_id for new_id in new_ids if new_id is not None], dtype=np.int64)
    return dataclasses.replace(item, objects=kept)


# --------------------------------------------------------------------------------------------- splits
def random_split(
    dataset: Dataset, splits: Mapping[str, float] | None = None, *, seed: int = 0, block: int | None = None
) -> Dataset:
    """Put every item in one of ``splits`` (subset name -> ratio, the ratios summing to 1), seeded, stratified by
    label, in one streaming pass (nothing is read here, no item is held; every pass gives the same split).

    Datumaro's ``random_split`` shuffles the item indices (so it reads the whole dataset first) and ignores labels;
    this one is stratified and streams: each item belongs to a *stratum*, its label seen in the fewest items so far
    (its rarest label, as the pass goes; items without objects form one stratum), and the k-th item of a stratum
    takes slot ``k mod block`` of that stratum's current block, a seeded shuffle holding each subset's exact share
    of ``block`` slots (the smallest block in which every ratio is a whole number of slots, at most 1000). So
    every label's items are split in the ratios, to within one block, and the split depends only on the items'
    order, labels and the seed. Default splits: Datumaro's, ``train`` 0.67 and ``test`` 0.33.

    Example:
        >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
        >>> image = ImageRef("a.jpg", width=9, height=9)
        >>> items = [Item(str(i), image, Objects.from_boxes([[0, 0, 1, 1]], [1 + i % 2])) for i in range(20)]
        >>> dataset = Dataset(items, LabelMap.from_names(["cat", "dog"]))
        >>> split = random_split(dataset, {"train": 0.7, "val": 0.3}, seed=1)
        >>> sorted(Counter((item.subset, int(item.objects.label_ids[0])) for item in split).items())
        [(('train', 1), 7), (('train', 2), 7), (('val', 1), 3), (('val', 2), 3)]
    """
    ratios = _checked_ratios(dict(splits) if splits is not None else {"train": 0.67, "test": 0.33})
    size = block or _block_size(list(ratios.values()))
    slots_per_subset = _largest_remainder(list(ratios.values()), size)
    names = list(ratios)
    label_map = dataset.label_map

    def items() -> Iterable[Item]:
        seen: Counter[str] = Counter()  # items per label so far: the running rarity
        taken: Counter[str] = Counter()  # items per stratum so far
        blocks: dict[str, list[int]] = {}  # the current block of each stratum
        for item in dataset:
            labels = sorted({label_map.name_of(label_id) or "" for label_id in item.objects.label_ids.tolist()})
            stratum = min(labels, key=lambda name: (seen[name], name)) if labels else "\0no objects"
            seen.update(labels)
            position = taken[stratum]
            taken[stratum] += 1
            if position % size == 0:
                slots = [index for index, count in enumerate(slots_per_subset) for _ in range(count)]
                random.Random(f"{seed}\0{stratum}\0{position // size}").shuffle(slots)  # seeded by text: stable
                blocks[stratum] = slots
            yield dataclasses.replace(item, subset=names[blocks[stratum][position % size]])

    return Dataset(items, dataset.label_map, name=dataset.name, length=dataset.length)


def _checked_ratios(splits: dict[str, float]) -> dict[str, float]:
    if not splits:
        raise UsageError("random_split: give at least one subset, e.g. random_split:train=0.8,test=0.2")
    for name, ratio in splits.items():
        if not name or not 0 <= ratio <= 1 or not np.isfinite(ratio):
            raise UsageError(f"random_split: {name or '(empty)'}={ratio}: a subset needs a name and a ratio in [0, 1]")
    total = sum(splits.values())
    if abs(total - 1) > 1e-6:
        raise UsageError(f"random_split: the ratios sum to {total:g}, not 1")
    return splits


def _block_size(ratios: Sequence[float]) -> int:
    """The smallest number of slots (at most 1000) in which every ratio is a whole number of slots."""
    for size in range(1, 1001):
        if all(abs(ratio * size - round(ratio * size)) < 1e-6 for ratio in ratios):
            return size
    return 1000


def _largest_remainder(ratios: Sequence[float], size: int) -> list[int]:
    """``size`` slots shared in ``ratios``: the floors, then one more for the largest remainders (first wins ties)."""
    exact = [ratio * size for ratio in ratios]
    counts = [int(np.floor(value + 1e-9)) for value in exact]
    order = sorted(range(len(ratios)), key=lambda index: (-(exact[index] - counts[index]), index))
    for index in order[: size - sum(counts)]:
        counts[index] += 1
    return counts


# --------------------------------------------------------------------------------------------- dataset transforms
# Transforms of a whole dataset (its label map changes, or items need state across the pass): reachable by name
# from -t, run by apply_transforms in their place among the item transforms.
DATASET_TRANSFORMS: dict[str, Callable[..., Dataset]] = {
    "remap_labels": remap_labels,
    "filter_labels": filter_labels,
    "random_split": random_split,
}


@dataclasses.dataclass(frozen=True)
class DatasetTransform:
    """A dataset transform by name with its options bound: what ``-t remap_labels:…`` gives. Picklable.

    Example:
        >>> DatasetTransform("filter_labels", (("keep", ["cat"]),)).name
        'filter_labels'
    """

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    def __call__(self, dataset: Dataset) -> Dataset:
        options = dict(self.options)
        if self.name in ("remap_labels", "filter_labels"):
            _check_known_labels(self.name, dataset.label_map, options.get("mapping") or options.get("keep") or ())
        return DATASET_TRANSFORMS[self.name](dataset, **options)


def _check_known_labels(name: str, label_map: LabelMap, names: Iterable[str]) -> None:
    """A name the dataset does not have is a typo that would drop objects silently: refused (a label map still
    empty is learnt while reading, as from records without one: nothing to check against)."""
    unknown = [label for label in names if label_map.id_of(label) is None]
    if len(label_map) and unknown:
        raise UsageError(f"{name}: no label {unknown[0]!r} in the dataset (its labels: {', '.join(label_map.names)})")


def dataset_transform_from_spec(name: str, text: str) -> DatasetTransform:
    """``remap_labels:a=b,c=`` / ``remap_labels:@map.txt``; ``filter_labels:keep=a|b`` / ``filter_labels:@names.txt``;
    ``random_split:train=0.7,val=0.3,seed=1``."""
    text = text.strip()
    if name == "random_split":
        splits: dict[str, float] = {}
        seed = 0
        for key, value in _pairs(name, text):
            if key == "seed":
                seed = int(_number(name, key, value))
            else:
                splits[key] = _number(name, key, value)
        return DatasetTransform(name, (("splits", splits or None), ("seed", seed)))
    if name == "filter_labels":
        if text.startswith("@"):
            keep = _spec_lines(text[1:])
        else:
            key, equals, value = text.partition("=")
            if equals and key.strip() != "keep":
                raise UsageError(f"filter_labels: bad option {key.strip()!r}; give keep=NAME|NAME or @FILE")
            keep = [part.strip() for part in (value if equals else text).split("|") if part.strip()]
        if not keep:
            raise UsageError("filter_labels: name the labels to keep, e.g. filter_labels:keep=car|person")
        return DatasetTransform(name, (("keep", keep),))
    lines = _spec_lines(text[1:]) if text.startswith("@") else [part for part in text.split(",") if part.strip()]
    mapping: dict[str, str | None] = {}
    for line in lines:
        source, equals, target = line.partition("=")
        if not equals or not source.strip():
            raise UsageError(f"remap_labels: expected OLD=NEW (or OLD= to delete), got {line.strip()!r}")
        mapping[source.strip()] = target.strip() or None
    if not mapping:
        raise UsageError("remap_labels: give OLD=NEW pairs, e.g. remap_labels:car=vehicle,truck=vehicle")
    return DatasetTransform(name, (("mapping", mapping),))


def _pairs(name: str, text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"{name}: expected NAME=VALUE, got {part!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _number(name: str, key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{name}:{key}: expected a number, got {text!r}") from None


def _spec_lines(path: str) -> list[str]:
    """The non-empty, non-comment lines of a mapping / names file given as ``@FILE``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the mapping file: {getattr(error, 'strerror', None) or error}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
