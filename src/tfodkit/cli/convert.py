"""``tfod convert``, ``export``, ``import`` and ``transform``: moving datasets between formats."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from tfodkit.errors import CorruptRecordError, UsageError
from tfodkit.formats import format_names
from tfodkit.parallel import default_workers
from tfodkit.pipeline import ConvertReport, ProgressCallback, convert

FORMAT_CHOICE = click.Choice(format_names())
MASK_MODES = {
    "none": [],
    "polygons": ["polygons_to_masks"],
    "boxes": ["boxes_to_masks"],
    "all": ["polygons_to_masks", "boxes_to_masks"],  # the seed's flow: polygons first, then bare boxes
}

# CLI option -> (side, keyword of the format's read()/write()). Only options the user gave are passed, and
# the pipeline refuses one that the chosen format does not take.
READ_OPTIONS = (
    "label_map",
    "images_dir",
    "year",
    "set",
    "annotations_dir",
    "ignore_difficult",
    "subset",
    "include_masks",
)
WRITE_OPTIONS = ("save_images", "shards", "shard_size", "compression", "numerical_masks", "layout")


def _format_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--label-map", type=click.Path(dir_okay=False), help="label_map.pbtxt for the input."),
        click.option(
            "--images",
            "images_dir",
            type=click.Path(file_okay=False),
            help="Folder of images the input's annotations name.",
        ),
        click.option(
            "--save-images/--no-save-images",
            default=None,
            help="Embed / copy the original image bytes (default: the output format's usual choice).",
        ),
        click.option(
            "--shards", type=click.IntRange(min=1), help="Split TFRecord output into N shards NAME-0000i-of-0000N."
        ),
        click.option(
            "--shard-size",
            type=click.IntRange(min=1),
            metavar="BYTES",
            help="Start a new TFRecord shard before one would pass BYTES; names NAME-0000i-of-0000N set at the end.",
        ),
        click.option("--compression", type=click.Choice(["gzip", "zlib"]), help="Compress TFRecord output as TF does."),
        click.option(
            "--numerical-masks",
            is_flag=True,
            default=None,
            help="Write masks as one float list (NUMERICAL_MASKS) instead of PNGs.",
        ),
        click.option(
            "--masks",
            "mask_mode",
            type=click.Choice(list(MASK_MODES)),
            default="none",
            show_default=True,
            help="Make instance masks: from polygons, from boxes, or all (polygons, then boxes).",
        ),
        click.option(
            "-t",
            "--transform",
            "transform_names",
            multiple=True,
            metavar="NAME",
            help="Apply a transform (repeatable, in order): polygons_to_masks, boxes_to_masks, masks_to_polygons, merge_instance_parts.",
        ),
        click.option("--year", help="VOC: VOC2007, VOC2012 or merged."),
        click.option("--set", "set", help="VOC: image set from ImageSets/Main (train, val, trainval, test)."),
        click.option("--annotations-dir", help="VOC: annotations folder name (default Annotations)."),
        click.option("--ignore-difficult", is_flag=True, default=None, help="VOC: skip difficult objects."),
        click.option("--subset", help="COCO: read only this subset."),
        click.option("--include-masks", is_flag=True, default=None, help="COCO: rasterize segmentations to masks."),
        click.option("--layout", type=click.Choice(["ultralytics", "darknet"]), help="YOLO output layout."),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=default_workers(),
            show_default=True,
            help="Processes for per-item work; output is identical for any number.",
        ),
        click.option(
            "--runner",
            type=click.Choice(["local", "beam"]),
            default="local",
            show_default=True,
            help="local: this machine's cores; beam: an Apache Beam pipeline (pip install 'tfodkit[beam]'), "
            "TFRecord output only.",
        ),
        click.option(
            "--beam-option",
            "beam_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Beam pipeline option (repeatable), e.g. runner=DataflowRunner, project=…, region=…, "
            "temp_location=gs://…; default runner FnApiRunner (local).",
        ),
        click.option(
            "--target-labels",
            metavar="NAMES|@FILE",
            help="Match labels by name to these (a CVAT task's labels: comma-separated, or @file with one "
            "per line); objects with other labels are dropped and reported.",
        ),
        click.option(
            "--on-error",
            type=click.Choice(["stop", "skip"]),
            default="stop",
            show_default=True,
            help="A bad item (a record, an annotation file or entry): stop with its error, writing nothing, "
            "or skip it, count it and go on. Damaged TFRecord framing always stops (see tfod repair).",
        ),
        click.option(
            "--strict",
            is_flag=True,
            default=False,
            help="Fail (exit 2, nothing written) when the output cannot hold something the input has.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@contextmanager
def _progress_bar(enabled: bool, description: str) -> Iterator[ProgressCallback | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("items"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done: progress.update(task, completed=done)


def _print_report(report: ConvertReport, target: str, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    if quiet:
        return
    subsets = ", ".join(f"{name} {count}" for name, count in sorted(report.items_per_subset.items())) or "none"
    skipped = f", {report.skipped} bad items skipped" if report.skipped else ""
    skipped += f", {sum(report.losses.values())} losses (above)" if report.losses else ""
    click.echo(
        f"{report.source_format} -> {report.target_format}: {report.items} images, {report.objects} objects, "
        f"{report.labels} labels (subsets: {subsets}){skipped} in {report.seconds:.2f} s -> {target}"
    )


def run_conversion(source: str, target: str, from_format: str | None, to_format: str, options: dict[str, Any]) -> None:
    """Shared body of convert/export/import/transform: split the options, build transforms, convert."""
    from tfodkit.transforms import get_transform

    as_json = options.pop("as_json", False)
    quiet = options.pop("quiet", False)
    workers = options.pop("workers", 1)
    on_error = options.pop("on_error", "stop") or "stop"
    strict = bool(options.pop("strict", False))
    runner = options.pop("runner", "local") or "local"
    beam_options = list(options.pop("beam_options", ()) or ())
    if beam_options and runner != "beam":
        raise UsageError("--beam-option needs --runner beam")
    target_labels = _label_list(options.pop("target_labels", None))
    mask_mode = options.pop("mask_mode", "none") or "none"
    names = list(MASK_MODES[mask_mode]) + list(options.pop("transform_names", ()))
    if "polygons_to_masks" in names and options.get("include_masks") is None and _reads_coco(source, from_format):
        options["include_masks"] = True  # crowd regions keep their RLE (lazy) instead of getting a box mask
    transforms = [get_transform(name) for name in names]
    read_options = {name: options.pop(name) for name in READ_OPTIONS if options.get(name) is not None}
    write_options = {name: options.pop(name) for name in WRITE_OPTIONS if options.get(name) is not None}
    unused = {name: value for name, value in options.items() if value is not None}
    assert not unused, f"options not routed: {unused}"
    conversion: dict[str, Any] = {
        "from_format": from_format,
        "to_format": to_format,
        "read_options": read_options,
        "write_options": write_options,
        "transforms": transforms,
        "target_labels": target_labels,
        "workers": workers,
    }
    if runner == "beam":
        if on_error != "stop":
            raise UsageError("--on-error skip works with --runner local only")
        from tfodkit.beam import run_conversion as run_beam_conversion

        report = run_beam_conversion(source, target, **conversion, beam_options=beam_options)
    else:
        with (
            _progress_bar(not quiet and not as_json, f"{from_format or 'input'} -> {to_format}") as progress,
            _repair_hint(on_error),
        ):
            report = convert(source, target, **conversion, progress=progress, on_error=on_error, strict=strict)
    if report.unmatched_labels:
        dropped = ", ".join(f"{name!r} ({count} objects)" for name, count in report.unmatched_labels.most_common())
        click.echo(f"tfod: warning: labels not in --target-labels, objects dropped: {dropped}", err=True)
    _warn_skipped(report)
    if not quiet or as_json:
        for line in report.loss_lines():
            click.echo(f"tfod: lost: {line}", err=True)
    _print_report(report, target, as_json, quiet)


def _reads_coco(source: str, from_format: str | None) -> bool:
    from tfodkit.formats import detect_format

    try:
        return (from_format or detect_format(source)) == "coco"
    except UsageError:  # undetectable: convert() says so
        return False


@contextmanager
def _repair_hint(on_error: str) -> Iterator[None]:
    """Damaged framing stops even --on-error skip: say why, and what salvages the file."""
    try:
        yield
    except CorruptRecordError as error:
        if on_error == "skip":
            error.message += (
                " (--on-error skip cannot step over damaged framing; tfod repair salvages the intact records)"
            )
        raise


def _warn_skipped(report: ConvertReport) -> None:
    for example in report.skipped_examples:
        click.echo(f"tfod: warning: skipped {example}", err=True)
    if report.skipped > len(report.skipped_examples):
        click.echo(
            f"tfod: warning: … and {report.skipped - len(report.skipped_examples)} more bad items skipped", err=True
        )


def _label_list(value: str | None) -> list[str] | None:
    """``"car,person"`` or ``"@labels.txt"`` (one name a line) -> names."""
    if value is None:
        return None
    if value.startswith("@"):
        from tfodkit.storage import read_bytes

        lines = read_bytes(value[1:]).decode("utf-8-sig").splitlines()
        names = [line.strip() for line in lines if line.strip()]
    else:
        names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError("--target-labels names no labels")
    return names


@click.command("convert")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--from", "from_format", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous).")
@click.option("--to", "to_format", type=FORMAT_CHOICE, required=True, help="Output format.")
@_format_options
def convert_command(source: str, target: str, from_format: str | None, to_format: str, **options: Any) -> None:
    """Convert a dataset from one format to another, streaming.

    \b
    Examples:
      tfod convert annotations.xml train.tfrecord --from cvat --to tfrecord
      tfod convert VOCdevkit/ voc.tfrecord --from voc --to tfrecord --year VOC2007 --set trainval --shards 10
      tfod convert coco/ out.tfrecord --from coco --to tfrecord --masks all
      tfod convert task.zip yolo_out/ --from cvat-tfrecord --to yolo
    """
    run_conversion(source, target, from_format, to_format, options)


@click.command("export")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--from", "from_format", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous).")
@_format_options
def export_command(source: str, target: str, from_format: str | None, **options: Any) -> None:
    """Export a dataset as a CVAT "TFRecord 1.0" zip (<subset>.tfrecord + label_map.pbtxt).

    \b
    Examples:
      tfod export annotations.xml task.zip --save-images
      tfod export VOCdevkit/VOC2007 voc.zip --from voc --save-images
    """
    run_conversion(source, target, from_format, "cvat-tfrecord", options)


@click.command("import")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--to", "to_format", type=FORMAT_CHOICE, required=True, help="Output format.")
@_format_options
def import_command(source: str, target: str, to_format: str, **options: Any) -> None:
    """Import a CVAT "TFRecord 1.0" zip (or a folder of .tfrecord files) into another format.

    \b
    Examples:
      tfod import task.zip out/ --to cvat
      tfod import task.zip coco_out/ --to coco --label-map label_map.pbtxt
    """
    run_conversion(source, target, "cvat-tfrecord", to_format, options)


@click.command("transform")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--from", "from_format", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous).")
@click.option("--to", "to_format", type=FORMAT_CHOICE, help="Output format (default: the input's).")
@_format_options
def transform_command(source: str, target: str, from_format: str | None, to_format: str | None, **options: Any) -> None:
    """Apply transforms in order (the names Datumaro uses) while copying a dataset.

    \b
    Example:
      tfod transform task.zip masked.zip -t polygons_to_masks -t boxes_to_masks
    """
    from tfodkit.formats import detect_format

    from_format = from_format or detect_format(source)
    run_conversion(source, target, from_format, to_format or from_format, options)


COMMANDS = [convert_command, export_command, import_command, transform_command]
