"""The data flow in one place: read → transform → write, with progress and a summary.

Example:
    >>> import tempfile, os
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> folder = tempfile.mkdtemp()
    >>> items = [Item("a", ImageRef("a.jpg", width=4, height=4), Objects.from_boxes([[0, 0, 2, 2]], [1]))]
    >>> from tfodkit.formats import tfod
    >>> tfod.write(Dataset(items, LabelMap.from_names(["cat"])), os.path.join(folder, "in.tfrecord"))
    >>> report = convert(os.path.join(folder, "in.tfrecord"), os.path.join(folder, "out.zip"), to_format="cvat-tfrecord")
    >>> report.items, report.objects, report.labels
    (1, 1, 1)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfodkit.errors import UsageError
from tfodkit.formats import FormatInfo, detect_format, get_format
from tfodkit.model import Dataset, Item

Transform = Callable[[Item], Item | None]
ProgressCallback = Callable[[int], None]  # called with the number of items done so far


@dataclass
class ConvertReport:
    """What a conversion did: counts per subset and label, and how long it took."""

    source_format: str
    target_format: str
    items: int = 0
    objects: int = 0
    items_per_subset: Counter[str] = field(default_factory=Counter)
    objects_per_label: Counter[str] = field(default_factory=Counter)
    labels: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source_format,
            "to": self.target_format,
            "items": self.items,
            "objects": self.objects,
            "labels": self.labels,
            "items_per_subset": dict(self.items_per_subset),
            "objects_per_label": dict(self.objects_per_label),
            "seconds": round(self.seconds, 3),
        }


def check_options(info: FormatInfo, options: Mapping[str, Any], direction: str) -> None:
    """Refuse options that the format's reader or writer does not take, naming the ones it does."""
    accepted = info.read_options() if direction == "read" else info.write_options()
    unknown = sorted(set(options) - accepted)
    if unknown:
        names = ", ".join("--" + name.replace("_", "-") for name in unknown)
        known = ", ".join(sorted("--" + name.replace("_", "-") for name in accepted - {"workers"})) or "none"
        raise UsageError(f"{names} does not apply when {direction}ing {info.name} (its options: {known})")


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


def write_dataset(dataset: Dataset, path: str, format_name: str, *, workers: int = 1, **options: Any) -> None:
    """Write ``dataset`` to ``path`` in ``format_name`` (atomically, as every writer does)."""
    info = get_format(format_name)
    if not info.can_write:
        raise UsageError(f"tfodkit cannot write {info.name}")
    options = {name: value for name, value in options.items() if value is not None}
    check_options(info, options, "write")
    if "workers" in info.write_options():
        options["workers"] = workers
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
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> ConvertReport:
    """Convert a dataset from one format to another, streaming, and report what was converted.

    ``transforms`` run in order on each item (see :mod:`tfodkit.transforms`); a transform returning None drops
    the item. ``workers`` is the number of processes for per-item encoding work.
    """
    started = time.perf_counter()
    source_format = from_format or detect_format(source)
    dataset = read_dataset(source, source_format, **dict(read_options or {}))
    report = ConvertReport(source_format, to_format)
    counted = Dataset(
        lambda: _counting(_transformed(dataset, transforms), dataset, report, progress),
        dataset.label_map,
        name=dataset.name,
        length=dataset.length,
    )
    write_dataset(counted, target, to_format, workers=workers, **dict(write_options or {}))
    report.labels = len(dataset.label_map)
    report.seconds = time.perf_counter() - started
    return report


def _transformed(items: Dataset, transforms: Sequence[Transform]) -> Iterator[Item]:
    for item in items:
        result: Item | None = item
        for transform in transforms:
            result = transform(result)
            if result is None:
                break
        if result is not None:
            yield result


def _counting(items: Iterator[Item], dataset: Dataset, report: ConvertReport, progress: ProgressCallback | None) -> Iterator[Item]:
    # A writer may read the dataset more than once; count one pass only.
    report.items = report.objects = 0
    report.items_per_subset.clear()
    report.objects_per_label.clear()
    for item in items:
        report.items += 1
        report.objects += len(item.objects)
        report.items_per_subset[item.subset] += 1
        for label_id in item.objects.label_ids.tolist():
            report.objects_per_label[dataset.label_map.name_of(label_id) or str(label_id)] += 1
        if progress is not None:
            progress(report.items)
        yield item
