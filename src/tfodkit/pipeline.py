"""The data flow in one place: read → transform → write, with progress and a summary.

Example:
    >>> import tempfile, os
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> folder = tempfile.mkdtemp()
    >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
    >>> from tfodkit.formats import tfod
    >>> tfod.write(Dataset(items, LabelMap.from_names(["cat"])), os.path.join(folder, "in.tfrecord"))
    >>> source, target = os.path.join(folder, "in.tfrecord"), os.path.join(folder, "out.zip")
    >>> report = convert(source, target, to_format="cvat-tfrecord")
    >>> report.items, report.objects, report.labels
    (1, 1, 1)
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfodkit import losses as loss_accounting
from tfodkit import output_safety, tolerance
from tfodkit import progress as progress_events
from tfodkit.boxes import clipping_boxes
from tfodkit.dataset_transforms import retarget_labels
from tfodkit.errors import UsageError
from tfodkit.formats import check_options, detect_format, get_format
from tfodkit.model import Dataset, Item
from tfodkit.storage import recording_outputs
from tfodkit.target_fit import fit_to_target
from tfodkit.tolerance import skipping_bad_items
from tfodkit.transforms import ItemTransform, apply_transforms, rasterizes_polygons

Transform = ItemTransform  # a step of convert(transforms=...); see tfodkit.transforms
ON_ERROR = ("stop", "skip")  # what convert() does with a bad item (see tfodkit.tolerance)
ProgressCallback = Callable[[int], None]  # called with the number of items done so far


@dataclass
class ConvertReport:
    """What a conversion did: counts per subset and label, and how long it took."""

    source_format: str
    target_format: str
    items: int = 0
    objects: int = 0  # objects written: handed to the writer, less those it left out (losses.OBJECTS_LEFT_OUT)
    objects_read: int = 0  # objects the input held (before labels, transforms and the target's limits)
    items_per_subset: Counter[str] = field(default_factory=Counter)
    objects_per_label: Counter[str] = field(default_factory=Counter)
    labels: int = 0
    seconds: float = 0.0
    unmatched_labels: Counter[str] = field(default_factory=Counter)  # objects dropped by target_labels, per label
    skipped: int = 0  # items skipped as unreadable (on_error="skip"; see tfodkit.tolerance)
    skipped_examples: list[str] = field(default_factory=list)  # the first few of their errors, in full
    losses: Counter[str] = field(default_factory=Counter)  # what the output does not hold, per kind
    loss_messages: dict[str, str] = field(default_factory=dict)  # kind -> what a user reads after the count
    outputs: list[str] = field(default_factory=list)  # the files and folders put in place, in order

    def loss_lines(self) -> list[str]:
        """One line per loss kind, the largest first: ``"4 polygons not exported; …"``."""
        return [f"{count} {self.loss_messages.get(kind, kind)}" for kind, count in self.losses.most_common()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source_format,
            "to": self.target_format,
            "items": self.items,
            "objects": self.objects,
            "objects_read": self.objects_read,
            "labels": self.labels,
            "items_per_subset": dict(self.items_per_subset),
            "objects_per_label": dict(self.objects_per_label),
            "unmatched_labels": dict(self.unmatched_labels),
            "skipped": self.skipped,
            "skipped_examples": list(self.skipped_examples),
            "losses": dict(self.losses),
            "outputs": list(self.outputs),
            "seconds": round(self.seconds, 3),
        }


def read_dataset(path: str, format_name: str | None = None, **options: Any) -> Dataset:
    """Open ``path`` in ``format_name`` (auto-detected when None) as a streaming :class:`Dataset`.

    Example:
        >>> read_dataset("missing.tfrecord", "tfrecord")
        Traceback (most recent call last):
        ...
        tfodkit.errors.FormatError: missing.tfrecord: no .tfrecord files found
    """
    info = get_format(format_name or detect_format(path))
    if not info.can_read:
        raise UsageError(f"tfodkit cannot read {info.name}")
    options = {name: value for name, value in options.items() if value is not None}
    check_options(info, options, "read")
    return info.module.read(path, **options)


def write_dataset(
    dataset: Dataset,
    path: str,
    format_name: str,
    *,
    workers: int = 1,
    overwrite: bool = False,
    inputs: Sequence[str | None] = (),
    **options: Any,
) -> None:
    """Write ``dataset`` to ``path`` in ``format_name`` (atomically, as every writer does).

    An output that exists (a file, or a folder with anything in it) is refused unless ``overwrite``; one that is,
    holds or lies inside one of ``inputs`` is always refused (see :func:`tfodkit.storage.check_output`). What a
    killed run left beside the output is removed first, with a warning.
    """
    info = get_format(format_name)
    if not info.can_write:
        raise UsageError(f"tfodkit cannot write {info.name}")
    options = {name: value for name, value in options.items() if value is not None}
    check_options(info, options, "write")
    path = output_safety.prepare_output(info, path, inputs, overwrite, options)
    if info.uses_workers:  # the TFRecord writers; the others work in this process
        options["workers"] = workers
    if info.writer_takes("overwrite"):
        options["overwrite"] = overwrite
    info.module.write(dataset, path, **options)


def convert(
    source: str,
    target: str,
    *,
    from_format: str | None = None,
    to_format: str,
    read_options: Mapping[str, Any] | None = None,
    write_options: Mapping[str, Any] | None = None,
    transforms: Sequence[Transform] = (),
    target_labels: Sequence[str] | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    on_error: str = "stop",
    strict: bool = False,
    overwrite: bool = False,
    clip: bool = False,
) -> ConvertReport:
    """Convert a dataset from one format to another, streaming, and report what was converted.

    ``transforms`` run in order on each item (see :mod:`tfodkit.transforms`); a transform returning None drops
    the item. ``target_labels`` (a CVAT task's labels, in order) makes the output label map exactly those names
    (ids from 1); objects whose label is not among them are dropped and counted in ``report.unmatched_labels``.
    ``read_options`` / ``write_options`` are keywords of the reader / writer, checked against the formats'
    declared options (:mod:`tfodkit.formats`) before anything is read. ``workers`` is the number of processes
    for per-item encoding work, used by the writers that have it (``tfrecord``, ``cvat-tfrecord``).

    ``on_error``: ``"stop"`` (the default) ends the run at the first bad item, writing nothing; ``"skip"`` skips
    items that fail to read or transform (a record that is not an Example or breaks the detection schema, one
    bad annotation file or entry) and counts them in ``report.skipped``. Damaged TFRecord framing, errors of the
    whole input and writer errors still stop the run (see :mod:`tfodkit.tolerance`).

    ``overwrite``: replace an existing ``target`` (else it is refused); a target that is, holds or lies inside
    the source (or the ``label_map`` / ``images_dir`` read options) is always refused. ``report.outputs`` lists
    the files and folders written.

    ``clip``: boxes reaching outside the image are clipped to it and counted (loss ``box_clipped``) instead of
    being errors; inverted boxes stay errors (see :mod:`tfodkit.boxes`).
    """
    if on_error not in ON_ERROR:
        raise UsageError(f"--on-error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
    started = time.perf_counter()
    source_format = from_format or detect_format(source)
    read_options = {name: value for name, value in dict(read_options or {}).items() if value is not None}
    write_options = {name: value for name, value in dict(write_options or {}).items() if value is not None}
    if source_format == "coco" and "include_masks" not in read_options and rasterizes_polygons(transforms):
        read_options["include_masks"] = True  # crowd regions keep their RLE mask (held lazily), not a box mask
    check_options(get_format(source_format), read_options, "read")
    check_options(get_format(to_format), write_options, "write")
    with (
        skipping_bad_items() if on_error == "skip" else contextlib.nullcontext() as skipped,
        loss_accounting.counting_losses(strict=strict) as losses,
        clipping_boxes(clip),
    ):
        dataset = read_dataset(source, source_format, **read_options)
        progress_events.start(progress_events.total_of(dataset.length, source, source_format))  # a CLI bar's total
        report = ConvertReport(source_format, to_format)
        dataset = _counting_read(dataset, report)
        if target_labels is not None:
            dataset = retarget_labels(dataset, target_labels, report.unmatched_labels)
        fitted = fit_to_target(dataset, to_format)  # unlabeled objects, absolute image names (tfodkit.target_fit)
        transformed = apply_transforms(fitted, transforms)  # label transforms (-t remap_labels) give a new map
        counted = Dataset(
            lambda: _counting(iter(transformed), transformed, report, progress),
            transformed.label_map,
            name=dataset.name,
            length=dataset.length,
        )
        inputs = output_safety.input_paths(source, read_options)
        write_counted(counted, target, to_format, report, losses, workers, overwrite, inputs, write_options)
    if skipped is not None:
        report.skipped = skipped.count
        report.skipped_examples = list(skipped.examples)
    report.labels = len(transformed.label_map)
    report.seconds = time.perf_counter() - started
    return report


def _counting_read(dataset: Dataset, report: ConvertReport) -> Dataset:
    """``dataset`` counting its objects into ``report.objects_read`` (one pass: each pass starts over)."""

    def items() -> Iterator[Item]:
        report.objects_read = 0
        for item in dataset:
            report.objects_read += len(item.objects)
            yield item

    return Dataset(items, dataset.label_map, name=dataset.name, length=dataset.length)


def write_counted(
    counted: Dataset,
    target: str,
    to_format: str,
    report: ConvertReport,
    losses: loss_accounting.Losses,
    workers: int,
    overwrite: bool,
    inputs: Sequence[str | None],
    write_options: Mapping[str, Any],
) -> None:
    """Write ``counted`` (a dataset whose passes fill ``report``) and put in ``report`` what the write made and lost:
    the files written, the losses, the objects written (those handed to the writer less those it left out)."""
    with recording_outputs() as written:
        write_dataset(counted, target, to_format, workers=workers, overwrite=overwrite, inputs=inputs, **write_options)
    report.outputs = list(written)
    report.losses = Counter(losses.counts)
    report.objects -= sum(report.losses[kind] for kind in loss_accounting.OBJECTS_LEFT_OUT)
    report.loss_messages = dict(losses.messages)


def _counting(
    items: Iterator[Item], dataset: Dataset, report: ConvertReport, progress: ProgressCallback | None
) -> Iterator[Item]:
    # A writer may read the dataset more than once; count one pass only.
    skipped = tolerance.current()
    if skipped is not None:
        skipped.clear()
    losses = loss_accounting.current()
    if losses is not None:
        losses.clear()
    report.items = report.objects = 0
    report.items_per_subset.clear()
    report.objects_per_label.clear()
    report.unmatched_labels.clear()  # retarget_labels counts into it as this pass reads
    for item in items:
        report.items += 1
        report.objects += len(item.objects)
        report.items_per_subset[item.subset] += 1
        for label_id in item.objects.label_ids.tolist():
            report.objects_per_label[dataset.label_map.name_of(label_id) or str(label_id)] += 1
        if progress is not None:
            progress(report.items)
        yield item
