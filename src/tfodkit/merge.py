"""Several datasets as one: labels matched by name, duplicate images dropped by SHA-256, subsets kept.

:func:`merged_dataset` unites :class:`~tfodkit.model.Dataset` objects as they stream (nothing is held but the
SHA-256 digests of the images seen, 32 bytes each, and a 16-byte digest of each ``(subset, id)``);
:func:`merge` reads paths, unites them and writes the result the way :func:`tfodkit.convert` writes (output
checks, ``overwrite``, losses, ``strict``, progress) — what ``tfod merge A B … OUT`` runs.

- **Labels** are matched by name: the first dataset keeps its ids, a name new in a later dataset takes the next
  free id. Unlabeled objects (id 0) stay unlabeled.
- **Duplicates**: an item whose image bytes have the SHA-256 of an image already merged is dropped (the first
  is kept), named in ``report.duplicates`` and counted as the loss ``duplicate_image``. Images without bytes
  (annotations only) are never taken for duplicates.
- **Same id, different image**: a later item keeps its image and objects and is renamed ``<id>~<n>`` (``n`` the
  1-based number of its dataset), listed in ``report.renamed``: writers name files after ids.

Example:
    >>> from tfodkit.losses import counting_losses
    >>> from tfodkit.model import ImageRef, Item, LabelMap, Objects
    >>> def item(name, data, *labels):
    ...     objects = Objects.from_boxes([[0, 0, 1, 1]] * len(labels), labels)
    ...     return Item(name, ImageRef(f"{name}.jpg", data=data, width=2, height=2), objects)
    >>> a = Dataset([item("x", b"1", 1)], LabelMap.from_names(["cat"]))
    >>> b = Dataset([item("y", b"1"), item("z", b"2", 1)], LabelMap.from_names(["dog"]))
    >>> duplicates: list[str] = []
    >>> merged = merged_dataset([a, b], ["a", "b"], duplicates=duplicates)
    >>> with counting_losses() as losses:
    ...     print([(item.id, item.objects.label_ids.tolist()) for item in merged], merged.label_map, duplicates)
    [('x', [1]), ('z', [2])] LabelMap([(1, 'cat'), (2, 'dog')]) ["b: 'y'"]
    >>> dict(losses.counts)
    {'duplicate_image': 1}
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfodkit import losses as loss_accounting
from tfodkit import output_safety
from tfodkit import progress as progress_events
from tfodkit.errors import UsageError
from tfodkit.formats import check_options, detect_format, get_format
from tfodkit.model import Dataset, ImageRef, Item, LabelMap

# the pipeline's counting passes, shared so a merge reports exactly as a conversion does
from tfodkit.pipeline import ConvertReport, ProgressCallback, _counting, _counting_read, read_dataset, write_counted
from tfodkit.target_fit import fit_to_target

DUPLICATE_IMAGE = "duplicate_image"
DUPLICATE_MESSAGE = "duplicate images dropped (the same SHA-256 as an image merged before; the first is kept)"


@dataclass
class MergeReport(ConvertReport):
    """A :class:`~tfodkit.pipeline.ConvertReport` of the merged output, with what the merge itself did."""

    duplicates: list[str] = field(default_factory=list)  # "<source>: '<id>'" of each dropped duplicate
    renamed: list[str] = field(default_factory=list)  # "<source>: '<id>' -> '<new id>'"

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "duplicates": list(self.duplicates), "renamed": list(self.renamed)}


def merged_dataset(
    datasets: Sequence[Dataset],
    names: Sequence[str] | None = None,
    *,
    duplicates: list[str] | None = None,
    renamed: list[str] | None = None,
) -> Dataset:
    """The items of ``datasets`` in order, as one dataset (see the module): labels matched by name, duplicate
    images dropped and named in ``duplicates``, clashing ids renamed and listed in ``renamed`` (both lists are
    refilled on each pass). ``names`` name the datasets in those lists (default: their ``name``)."""
    if not datasets:
        raise UsageError("merge needs at least one dataset")
    sources = list(names) if names is not None else [dataset.name for dataset in datasets]
    target = LabelMap()
    id_maps: list[dict[int, int]] = [{0: 0} for _ in datasets]  # per dataset: its label id -> the merged id

    def resolve(index: int) -> None:  # also called again for labels a reader discovers while reading
        for label in datasets[index].label_map:
            if label.id not in id_maps[index]:
                found = target.id_of(label.name)
                if found is None:
                    keep_id = index == 0 and label.id not in target
                    found = target.add_copy(label, label.id if keep_id else None)  # points and skeleton too
                id_maps[index][label.id] = found

    for index in range(len(datasets)):
        resolve(index)
    dropped = duplicates if duplicates is not None else []
    renames = renamed if renamed is not None else []

    def items() -> Iterator[Item]:
        dropped.clear()
        renames.clear()
        seen_images: set[bytes] = set()
        seen_ids: set[bytes] = set()
        for index, dataset in enumerate(datasets):
            for item in dataset:
                if item.image.has_bytes:
                    digest = hashlib.sha256(item.image.read()).digest()
                    if digest in seen_images:
                        dropped.append(f"{sources[index]}: {item.id!r}")
                        continue
                    seen_images.add(digest)
                item = _unique(item, index, seen_ids, sources[index], renames)
                yield _relabelled(item, id_maps, index, resolve)
        # said before the writer puts its output in place, so --strict leaves nothing behind
        loss_accounting.report_loss(DUPLICATE_IMAGE, len(dropped), DUPLICATE_MESSAGE)

    lengths = [dataset.length for dataset in datasets]
    total = None if None in lengths else sum(length or 0 for length in lengths)
    return Dataset(items, target, name="merged", length=total)


def _id_key(subset: str, item_id: str) -> bytes:
    return hashlib.blake2b(f"{subset}\0{item_id}".encode(), digest_size=16).digest()


def _unique(item: Item, index: int, seen: set[bytes], source: str, renames: list[str]) -> Item:
    """``item``, renamed ``<id>~<n>`` when an earlier item of its subset has its id."""
    key = _id_key(item.subset, item.id)
    if key not in seen:
        seen.add(key)
        return item
    suffix = index + 1
    new_id = f"{item.id}~{suffix}"
    while _id_key(item.subset, new_id) in seen:
        suffix += 1
        new_id = f"{item.id}~{suffix}"
    seen.add(_id_key(item.subset, new_id))
    renames.append(f"{source}: {item.id!r} -> {new_id!r}")
    image = item.image
    extension = image.name[len(item.id) :] if image.name.startswith(item.id) else ""
    width_height = image.known_size or (None, None)
    renamed_image = ImageRef(
        new_id + extension, path=image.path, data=image.data, width=width_height[0], height=width_height[1]
    )
    return dataclasses.replace(item, id=new_id, image=renamed_image)


def _relabelled(item: Item, id_maps: list[dict[int, int]], index: int, resolve: Any) -> Item:
    label_ids = item.objects.label_ids.tolist()
    if any(label_id not in id_maps[index] for label_id in label_ids):
        resolve(index)  # labels the reader discovered while reading
    new_ids = [id_maps[index].get(label_id, label_id) for label_id in label_ids]
    if new_ids == label_ids:
        return item
    objects = dataclasses.replace(item.objects, label_ids=np.array(new_ids, dtype=np.int64))
    return dataclasses.replace(item, objects=objects)


def merge(
    sources: Sequence[str],
    target: str,
    *,
    to_format: str,
    from_format: str | None = None,
    write_options: Mapping[str, Any] | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    overwrite: bool = False,
) -> MergeReport:
    """Merge the datasets at ``sources`` (each in ``from_format``, or its own detected format) into ``target``
    in ``to_format``, streaming; output checks, ``overwrite``, ``strict`` and losses as :func:`tfodkit.convert`.

    Example:
        >>> report = merge(["a/", "b.tfrecord"], "all.tfrecord", to_format="tfrecord")  # doctest: +SKIP
        >>> report.items, report.duplicates  # doctest: +SKIP
        (120, ["b.tfrecord: 'img_7'"])
    """
    if len(sources) < 2:
        raise UsageError("merge needs at least two datasets")
    started = time.perf_counter()
    formats = [from_format or detect_format(source) for source in sources]
    write_options = {name: value for name, value in dict(write_options or {}).items() if value is not None}
    check_options(get_format(to_format), write_options, "write")
    report = MergeReport("+".join(dict.fromkeys(formats)), to_format)
    with loss_accounting.counting_losses(strict=strict) as losses:
        datasets = [read_dataset(source, fmt) for source, fmt in zip(sources, formats, strict=True)]
        merged = merged_dataset(datasets, list(sources), duplicates=report.duplicates, renamed=report.renamed)
        progress_events.start(merged.length)
        read = _counting_read(merged, report)
        fitted = fit_to_target(read, to_format)
        counted = Dataset(
            lambda: _counting(iter(fitted), merged, report, progress), merged.label_map, name="merged", length=None
        )
        inputs = [path for source in sources for path in output_safety.input_paths(source, {})]
        write_counted(counted, target, to_format, report, losses, workers, overwrite, inputs, write_options)
    report.labels = len(merged.label_map)
    report.seconds = time.perf_counter() - started
    return report
