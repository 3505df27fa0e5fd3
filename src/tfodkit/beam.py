"""Apache Beam: the same conversion to TFRecords on a distributed engine (Dataflow, Flink, Spark, or locally).

``pip install 'tfodkit[beam]'``. The pipeline is the local one spread out:

1. :class:`ReadItems` reads the dataset in any format tfodkit reads, as one stream (annotation files are
   parsed in order, as locally, so label ids are the same), applies the item transforms (cheap: masks are
   attached lazily), and emits the final label map as a second output;
2. a ``Reshuffle`` spreads the items over the workers;
3. :class:`EncodeExamples` does the per-item work in parallel with tfodkit's pure item → bytes function
   (:func:`tfodkit.formats.tfod.item_to_example`: reading and hashing images, rasterizing and PNG-encoding
   masks, encoding the Example);
4. :class:`WriteDetectionRecords` writes sharded TFRecords with Beam's ``WriteToTFRecord``
   (``NAME-0000i-of-0000N.tfrecord``, through a temporary folder and a rename) and ``label_map.pbtxt``.

Output rules, ``--clip`` and losses are the local run's: an output that exists needs ``overwrite``, one that is,
holds or lies inside an input is refused (checked before the pipeline is built, as
:func:`tfodkit.pipeline.write_dataset` does); ``clip`` is handed to each worker (the clip policy is a context
variable, which does not cross processes); what a worker cannot keep is counted as Beam metrics
(``loss:<kind>:<message>``) and gathered into ``report.losses``. ``strict`` cannot stop the workers at the first
loss the way the local run does: the run ends, and when anything was lost the files it wrote are removed and a
:class:`~tfodkit.errors.LossError` is raised.

The records are the same bytes as the local writer's (``tfod convert`` without ``--runner beam``); which shard
holds which record, and the order inside a shard, is Beam's choice (the local writer puts an item in shard
``crc32(id) % N``, in input order). Local runs use Beam's ``FnApiRunner`` by default: the ``DirectRunner``
first tries to download the Prism runner binary, and falls back to the same FnApiRunner when it cannot.

Example (the CLI does the same with ``tfod convert SRC OUT --to tfrecord --runner beam``):
    >>> report = convert_with_beam("annotations.xml", "out/train.tfrecord", from_format="cvat",
    ...                         write_options={"shards": 4})  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tfodkit import losses as loss_accounting
from tfodkit.boxes import clipping_boxes
from tfodkit.errors import LossError, UsageError
from tfodkit.model import Dataset, Item, Label, LabelMap
from tfodkit.pipeline import ConvertReport, Transform, check_options, read_dataset, retarget_labels
from tfodkit.transforms import apply_transforms

try:
    import apache_beam as beam
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.io.tfrecordio import WriteToTFRecord
    from apache_beam.metrics import Metrics
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise UsageError("tfodkit.beam needs Apache Beam: pip install 'tfodkit[beam]'") from error

LABEL_MAP_OUTPUT = "label_map"
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")
DEFAULT_RUNNER = "FnApiRunner"  # never downloads a runner binary (see the module docstring)
_COMPRESSION = {
    None: CompressionTypes.UNCOMPRESSED,
    "gzip": CompressionTypes.GZIP,
    "zlib": CompressionTypes.DEFLATE,
}  # DEFLATE: zlib-wrapped, as TF ZLIB
_METRICS_NAMESPACE = "tfodkit"


# ----------------------------------------------------------------------------------------------- reading
def _prepared(
    source: str,
    from_format: str | None,
    read_options: Mapping[str, Any],
    transforms: Sequence[Transform],
    target_labels: Sequence[str] | None,
    unmatched: Any = None,
) -> Dataset:
    """The dataset as :func:`tfodkit.pipeline.convert` prepares it: read, labels retargeted, transforms applied
    in order (a transform returning None drops the item)."""
    dataset = read_dataset(source, from_format, **dict(read_options))
    if target_labels is not None:
        dataset = retarget_labels(dataset, target_labels, unmatched)
    return apply_transforms(dataset, transforms)


@contextlib.contextmanager
def _worker_context(clip: bool) -> Iterator[None]:
    """What a local run sets around its work, set again in a Beam worker (another process): the clip policy, and
    a loss count sent on as Beam metrics when the block ends."""
    with loss_accounting.counting_losses() as losses, clipping_boxes(clip):
        try:
            yield
        finally:
            for kind, count in losses.counts.items():
                Metrics.counter(_METRICS_NAMESPACE, f"{_LOSS_PREFIX}{kind}:{losses.messages[kind]}").inc(count)


_LOSS_PREFIX = "loss:"


class _UnmatchedCounter:
    """``Counter.update`` for :func:`retarget_labels`, counting into Beam metrics."""

    def update(self, names: Iterable[str]) -> None:
        for name in names:
            Metrics.counter(_METRICS_NAMESPACE, f"unmatched:{name}").inc()


class _ReadDoFn(beam.DoFn):
    """One element in, every item of the dataset out (then the label map, on its own output)."""

    def __init__(
        self,
        source: str,
        from_format: str | None,
        read_options: Mapping[str, Any],
        transforms: Sequence[Transform],
        target_labels: Sequence[str] | None,
        clip: bool = False,
    ) -> None:
        self.source = source
        self.from_format = from_format
        self.read_options = dict(read_options)
        self.transforms = list(transforms)
        self.target_labels = None if target_labels is None else list(target_labels)
        self.clip = clip

    def process(self, _: object) -> Iterator[Any]:
        dataset = _prepared(
            self.source, self.from_format, self.read_options, self.transforms, self.target_labels, _UnmatchedCounter()
        )
        with _worker_context(self.clip):
            for item in dataset:
                yield item, _labels_of(item, dataset.label_map)
        # Readers may add labels while reading: the map is complete only now.
        yield beam.pvalue.TaggedOutput(
            LABEL_MAP_OUTPUT, [(label.id, label.name, label.display_name) for label in dataset.label_map]
        )


def _labels_of(item: Item, label_map: LabelMap) -> dict[int, str]:
    """The id -> name entries the item's objects use: with them an item encodes anywhere, alone."""
    return {int(label_id): label_map.name_of(int(label_id)) or "" for label_id in set(item.objects.label_ids.tolist())}


class ReadItems(beam.PTransform):
    """``PBegin`` → ``items``: ``PCollection[(Item, {label id: name})]`` and ``label_map``: one
    ``[(id, name, display name), …]`` (the dataset's label map once every item was read).

    ``source``/``from_format``/``read_options`` are those of :func:`tfodkit.pipeline.read_dataset`; ``transforms``
    and ``target_labels`` act as in :func:`tfodkit.pipeline.convert`, as does ``clip`` (boxes reaching outside
    the image clipped and counted, not errors). The source must be readable where the
    pipeline's workers run (a bucket URL on a cluster).
    """

    def __init__(
        self,
        source: str,
        *,
        from_format: str | None = None,
        read_options: Mapping[str, Any] | None = None,
        transforms: Sequence[Transform] = (),
        target_labels: Sequence[str] | None = None,
        clip: bool = False,
    ) -> None:
        super().__init__()
        self._read = _ReadDoFn(source, from_format, read_options or {}, transforms, target_labels, clip)

    def expand(self, pbegin: Any) -> Any:
        return (
            pbegin
            | "Start" >> beam.Create([None])
            | "ReadDataset" >> beam.ParDo(self._read).with_outputs(LABEL_MAP_OUTPUT, main="items")
        )


# ----------------------------------------------------------------------------------------------- encoding
class _EncodeDoFn(beam.DoFn):
    def __init__(self, save_images: bool, numerical_masks: bool) -> None:
        self.save_images = save_images
        self.numerical_masks = numerical_masks
        self.items = Metrics.counter(_METRICS_NAMESPACE, "items")
        self.objects = Metrics.counter(_METRICS_NAMESPACE, "objects")

    def process(self, element: tuple[Item, dict[int, str]]) -> Iterator[tuple[str, bytes]]:
        from tfodkit.formats.tfod import count_record_losses, item_to_example

        item, names = element
        label_map = LabelMap(Label(label_id, name) for label_id, name in sorted(names.items()))
        with _worker_context(False):  # what the records cannot hold, counted as the local writer counts it
            tally = loss_accounting.Tally()
            count_record_losses(item, tally, save_images=self.save_images)
            tally.report()
            if self.save_images and not item.image.has_bytes:
                loss_accounting.report_loss(
                    "image_missing", 1, "images had no bytes to embed; their image/encoded is empty"
                )
        example = item_to_example(item, label_map, save_images=self.save_images, numerical_masks=self.numerical_masks)
        self.items.inc()
        self.objects.inc(len(item.objects))
        Metrics.counter(_METRICS_NAMESPACE, f"subset:{item.subset}").inc()
        for label_id in item.objects.label_ids.tolist():
            Metrics.counter(_METRICS_NAMESPACE, f"label:{names[int(label_id)]}").inc()
        yield item.subset, example


class EncodeExamples(beam.PTransform):
    """``PCollection[(Item, {label id: name})]`` → ``PCollection[(subset, serialized tf.train.Example)]``.

    The bytes are :func:`tfodkit.formats.tfod.item_to_example`'s, the same as the local writer's.
    """

    def __init__(self, *, save_images: bool = True, numerical_masks: bool = False) -> None:
        super().__init__()
        self._encode = _EncodeDoFn(save_images, numerical_masks)

    def expand(self, items: Any) -> Any:
        return items | "Encode" >> beam.ParDo(self._encode)


# ----------------------------------------------------------------------------------------------- writing
def split_record_target(target: str) -> tuple[str, str, bool]:
    """``(prefix, suffix, single_file)``: ``out/all.tfrecord.gz`` → ``("out/all", ".tfrecord.gz", True)``;
    a folder target ``out/`` → ``("out", "", False)`` (one ``<subset>.tfrecord`` set per subset in it)."""
    from tfodkit.formats.tfod_files import COMPRESSED_SUFFIXES, RECORD_SUFFIXES

    trimmed = target.rstrip("/")
    name = posixpath.basename(trimmed)
    for suffix in RECORD_SUFFIXES:
        for compressed in ("", *COMPRESSED_SUFFIXES):
            full = suffix + compressed
            if name.lower().endswith(full) and len(name) > len(full):
                return trimmed[: -len(full)], trimmed[-len(full) :], True
    return trimmed, "", False


def _join(folder: str, name: str) -> str:
    return FileSystems.join(folder, name) if folder else name


class _WriteLabelMapDoFn(beam.DoFn):
    """Write ``label_map.pbtxt`` through Beam's filesystems (local, gs://, s3://…): a temporary name, then a rename."""

    def __init__(self, path: str) -> None:
        self.path = path

    def process(self, labels: list[tuple[int, str, str | None]]) -> Iterator[str]:
        from tfodkit.labelmap import format_label_map

        text = format_label_map(LabelMap(Label(label_id, name, display) for label_id, name, display in labels))
        Metrics.counter(_METRICS_NAMESPACE, "labels").inc(len(labels))
        temp = f"{self.path}.tfodkit-partial-{os.getpid()}"
        if "://" not in self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with FileSystems.create(temp) as out:
            out.write(text.encode("utf-8"))
        if FileSystems.exists(self.path):
            FileSystems.delete([self.path])
        FileSystems.rename([temp], [self.path])
        yield self.path


class WriteDetectionRecords(beam.PTransform):
    """``PCollection[(subset, bytes)]`` → sharded TFRecords at ``target``, named as the local writer names them.

    ``target`` ending in ``.tfrecord`` (``.record``, ``.tfrecords``, optionally ``.gz``/``.zlib``): one set for all
    subsets; ``NAME.tfrecord`` when ``shards`` is None, else ``NAME-0000i-of-0000N.tfrecord``. Any other target
    is a folder holding one such set per subset: ``subsets`` must then name them (Beam's graph is fixed before
    the data flows; :func:`convert_with_beam` finds them with a pass over the annotations).
    """

    def __init__(
        self,
        target: str,
        *,
        shards: int | None = None,
        compression: str | None = None,
        subsets: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if shards is not None and shards < 1:
            raise UsageError(f"--shards must be at least 1, got {shards}")
        if compression not in _COMPRESSION:
            raise UsageError(f"unknown compression {compression!r}: use gzip or zlib")
        self.prefix, self.suffix, self.single_file = split_record_target(target)
        if not self.single_file:
            self.suffix = ".tfrecord" + {None: "", "gzip": ".gz", "zlib": ".zlib"}[compression]
            if not subsets:
                subsets = ["default"]  # an empty dataset still gives its (empty) file, as locally
        self.shards = shards
        self.compression = compression
        self.subsets = list(subsets or [])

    def _write(self, records: Any, prefix: str, label: str) -> Any:
        return records | f"Write[{label}]" >> WriteToTFRecord(
            prefix,
            file_name_suffix=self.suffix,
            num_shards=self.shards or 1,
            shard_name_template=None if self.shards else "",  # None: Beam's -SSSSS-of-NNNNN, as shard_names()
            compression_type=_COMPRESSION[self.compression],
        )

    def expand(self, keyed_records: Any) -> Any:
        if self.single_file:
            return self._write(keyed_records | "Records" >> beam.Values(), self.prefix, "all")
        position = {subset: index for index, subset in enumerate(self.subsets)}

        def partition(element: tuple[str, bytes], count: int) -> int:
            found = position.get(element[0])
            if found is None:
                raise UsageError(f"item of subset {element[0]!r}, which the first pass over the data did not see")
            return found

        parts = keyed_records | "BySubset" >> beam.Partition(partition, len(self.subsets))
        written = []
        for subset, part in zip(self.subsets, parts, strict=True):  # one part per subset
            records = part | f"Records[{subset}]" >> beam.Values()
            written.append(self._write(records, _join(self.prefix, subset), subset))
        return written


class ConvertToTFRecords(beam.PTransform):
    """Read any format, transform, encode in parallel, write sharded TFRecords and ``label_map.pbtxt``.

    Example:
        >>> with beam.Pipeline(runner="FnApiRunner") as pipeline:  # doctest: +SKIP
        ...     _ = pipeline | ConvertToTFRecords("VOCdevkit/VOC2007", "out/voc.tfrecord", from_format="voc", shards=8)
    """

    def __init__(
        self,
        source: str,
        target: str,
        *,
        from_format: str | None = None,
        read_options: Mapping[str, Any] | None = None,
        transforms: Sequence[Transform] = (),
        target_labels: Sequence[str] | None = None,
        save_images: bool = True,
        numerical_masks: bool = False,
        shards: int | None = None,
        compression: str | None = None,
        subsets: Sequence[str] | None = None,
        clip: bool = False,
    ) -> None:
        super().__init__()
        self.read = ReadItems(
            source,
            from_format=from_format,
            read_options=read_options,
            transforms=transforms,
            target_labels=target_labels,
            clip=clip,
        )
        self.encode = EncodeExamples(save_images=save_images, numerical_masks=numerical_masks)
        self.write = WriteDetectionRecords(target, shards=shards, compression=compression, subsets=subsets)
        prefix, _, single_file = split_record_target(target)
        folder = posixpath.dirname(prefix) if single_file else prefix
        from tfodkit.formats.tfod_files import LABEL_MAP_NAME

        self.label_map_path = _join(folder, LABEL_MAP_NAME)

    def expand(self, pbegin: Any) -> Any:
        read = pbegin | "ReadItems" >> self.read
        records = read["items"] | "Spread" >> beam.Reshuffle() | "EncodeExamples" >> self.encode
        written = records | "WriteRecords" >> self.write
        label_map = read[LABEL_MAP_OUTPUT] | "WriteLabelMap" >> beam.ParDo(_WriteLabelMapDoFn(self.label_map_path))
        return {"records": written, "label_map": label_map}


# ----------------------------------------------------------------------------------------------- running
def pipeline_options(beam_options: Iterable[str] = (), *, workers: int = 1) -> PipelineOptions:
    """Beam options from ``KEY=VALUE`` strings (``runner=DataflowRunner``, ``project=…``); ``FnApiRunner`` unless a
    runner is named. On a local runner, ``workers > 1`` runs that many SDK worker processes."""
    flags = []
    given = set()
    for option in beam_options:
        key, separator, value = option.partition("=")
        key = key.strip().lstrip("-")
        if not key or not separator:
            raise UsageError(f"--beam-option takes KEY=VALUE (e.g. runner=DataflowRunner), not {option!r}")
        given.add(key)
        flags.append(f"--{key}={value}")
    if "runner" not in given:
        flags.append(f"--runner={DEFAULT_RUNNER}")
    options = PipelineOptions(flags)
    runner = str(options.get_all_options().get("runner") or "")
    if workers > 1 and runner.rsplit(".", 1)[-1] in LOCAL_RUNNERS and "direct_num_workers" not in given:
        options = PipelineOptions([*flags, f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"])
    return options


def _subsets_of(dataset: Dataset) -> list[str]:
    """The subsets of a dataset, from one pass over its items (images are not read)."""
    return sorted({item.subset for item in dataset})


def convert_with_beam(
    source: str,
    target: str,
    *,
    from_format: str | None = None,
    to_format: str = "tfrecord",
    read_options: Mapping[str, Any] | None = None,
    write_options: Mapping[str, Any] | None = None,
    transforms: Sequence[Transform] = (),
    target_labels: Sequence[str] | None = None,
    beam_options: Iterable[str] = (),
    workers: int = 1,
    overwrite: bool = False,
    clip: bool = False,
    strict: bool = False,
) -> ConvertReport:
    """Run :class:`ConvertToTFRecords` on a Beam runner and wait; the report's counts come from Beam metrics.

    ``overwrite``, ``clip`` and ``strict`` are :func:`tfodkit.pipeline.convert`'s; see the module docstring for
    how ``strict`` differs (the run ends first, then its files are removed).
    """
    import time

    from tfodkit import output_safety
    from tfodkit.formats import detect_format, get_format

    if to_format != "tfrecord":
        raise UsageError(f"--runner beam writes TFRecords (--to tfrecord), not {to_format}")
    started = time.perf_counter()
    write_options = {name: value for name, value in dict(write_options or {}).items() if value is not None}
    check_options(get_format("tfrecord"), write_options, "write")
    if write_options.get("shard_size"):
        raise UsageError("--shard-size is not available with --runner beam (Beam shards by count): use --shards N")
    source_format = from_format or detect_format(source)
    read_options = {name: value for name, value in dict(read_options or {}).items() if value is not None}
    check_options(get_format(source_format), read_options, "read")
    inputs = output_safety.input_paths(source, read_options)
    target = output_safety.prepare_output(get_format("tfrecord"), target, inputs, overwrite, write_options)
    existed = _existing_files(target)
    _, _, single_file = split_record_target(target)
    with clipping_boxes(clip), loss_accounting.counting_losses():  # this pass's losses are the workers' too
        subsets = (
            None
            if single_file
            else _subsets_of(_prepared(source, source_format, read_options, transforms, target_labels))
        )
    convert = ConvertToTFRecords(
        source,
        target,
        from_format=source_format,
        read_options=read_options,
        transforms=transforms,
        target_labels=target_labels,
        save_images=write_options.get("save_images", True),
        numerical_masks=write_options.get("numerical_masks", False),
        shards=write_options.get("shards"),
        compression=write_options.get("compression"),
        subsets=subsets,
        clip=clip,
    )
    pipeline = beam.Pipeline(options=pipeline_options(beam_options, workers=workers))
    _ = pipeline | "ConvertToTFRecords" >> convert
    result = pipeline.run()
    result.wait_until_finish()
    report = _report_from_metrics(result, source_format)
    report.objects_read = report.objects  # a TFRecord leaves no object out
    report.seconds = time.perf_counter() - started
    if single_file and len(report.items_per_subset) > 1:  # as the local writer counts it
        from tfodkit.formats.tfod import SUBSETS_MERGED

        report.losses["subsets_merged"] += len(report.items_per_subset)
        report.loss_messages.setdefault("subsets_merged", SUBSETS_MERGED)
    if strict and report.losses:
        _remove_new_files(target, existed)
        kind, count = report.losses.most_common(1)[0]
        written = "left on the object store" if "://" in target else "removed"
        raise LossError(f"--strict: {count} {report.loss_messages[kind]} (the files written are {written})", kind=kind)
    return report


def _existing_files(target: str) -> dict[str, int]:
    """The files a record target (a file's family and label map, or a folder) holds before the run, with their
    modification times."""
    return {} if "://" in target else {path: os.stat(path).st_mtime_ns for path in _output_files(target)}


def _output_files(target: str) -> set[str]:
    from tfodkit.formats.tfod import LABEL_MAP_NAME, output_family

    prefix, _, single_file = split_record_target(target)
    if single_file:
        return {str(path) for path in output_family(target) if path.is_file()} | (
            {os.path.join(os.path.dirname(prefix), LABEL_MAP_NAME)}
            if os.path.isfile(os.path.join(os.path.dirname(prefix), LABEL_MAP_NAME))
            else set()
        )
    return {os.path.join(prefix, name) for name in os.listdir(prefix)} if os.path.isdir(prefix) else set()


def _remove_new_files(target: str, existed: dict[str, int]) -> None:
    """--strict after the run: remove the files it wrote; files it did not touch stay (one it rewrote, with
    ``overwrite``, is not the old one any more: it goes too)."""
    if "://" in target:
        return  # an object store: left as Beam wrote it
    for path in _output_files(target):
        with contextlib.suppress(OSError):
            if existed.get(path) != os.stat(path).st_mtime_ns:
                os.remove(path)
    prefix, _, single_file = split_record_target(target)
    if not single_file and not existed:
        with contextlib.suppress(OSError):
            os.rmdir(prefix)


def _report_from_metrics(result: Any, source_format: str) -> ConvertReport:
    from apache_beam.metrics.metric import MetricsFilter

    report = ConvertReport(source_format, "tfrecord")
    for counter in result.metrics().query(MetricsFilter().with_namespace(_METRICS_NAMESPACE))["counters"]:
        name = counter.key.metric.name
        value = int(counter.committed if counter.committed is not None else counter.attempted or 0)
        if name == "items":
            report.items = value
        elif name == "objects":
            report.objects = value
        elif name == "labels":
            report.labels = value
        elif name.startswith("subset:"):
            report.items_per_subset[name[len("subset:") :]] = value
        elif name.startswith("unmatched:"):
            report.unmatched_labels[name[len("unmatched:") :]] = value
        elif name.startswith("label:"):
            report.objects_per_label[name[len("label:") :]] = value
        elif name.startswith(_LOSS_PREFIX):
            kind, _, message = name[len(_LOSS_PREFIX) :].partition(":")
            report.losses[kind] += value
            report.loss_messages.setdefault(kind, message)
    return report


__all__ = [
    "ConvertToTFRecords",
    "EncodeExamples",
    "ReadItems",
    "WriteDetectionRecords",
    "convert_with_beam",
    "pipeline_options",
    "split_record_target",
]
