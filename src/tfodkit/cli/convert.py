"""``tfod convert``, ``export``, ``import`` and ``transform``: moving datasets between formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from tfodkit.errors import CorruptRecordError, UsageError
from tfodkit.formats import Option, format_names, get_format
from tfodkit.parallel import default_workers
from tfodkit.pipeline import ConvertReport, ProgressCallback, convert
from tfodkit.transforms import MASK_MODES, get_transform, mask_transforms, transform_from_spec, transform_names

FORMAT_CHOICE = click.Choice(format_names())


def _workers_help() -> str:
    writers = [name for name in format_names() if get_format(name).uses_workers]
    return (
        f"Processes for per-item encoding work, used by the {', '.join(writers)} writers and --runner beam "
        "(the other writers work in this process); output is identical for any number."
    )


# Options of every conversion command, whatever the formats. A new common flag goes here; a format's own
# options are declared in its module (READ_OPTIONS / WRITE_OPTIONS) and become flags in _format_flags.
COMMON_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
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
        "transform_specs",
        multiple=True,
        metavar="NAME[:KEY=VALUE,…]",
        help=f"Apply a transform (repeatable, in order): {', '.join(transform_names())}; "
        "options after a colon, e.g. masks_to_polygons:tolerance=0.5.",
    ),
    click.option(
        "--workers", type=click.IntRange(min=1), default=default_workers(), show_default=True, help=_workers_help()
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
    click.option(
        "--clip",
        is_flag=True,
        default=False,
        help="Clip boxes that reach outside the image to it (counted as a loss) instead of failing on them; "
        "inverted boxes still fail.",
    ),
    click.option(
        "--overwrite",
        is_flag=True,
        default=False,
        help="Replace an existing output (without it, an output that exists and is not empty is refused).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary."),
]

# A format option's click parameter is named "<side>__<keyword>", so its route (reader or writer) is in its name.
_READ, _WRITE = "read__", "write__"


def _format_flags(read_formats: Sequence[str], write_formats: Sequence[str]) -> list[click.Option]:
    """The flags of the read options of ``read_formats`` and the write options of ``write_formats``, from the
    formats' declarations; each help ends with the formats it applies to."""
    declared: dict[str, tuple[str, Option, list[str]]] = {}  # flag -> (side, option, formats)
    for side, formats in ((_READ, read_formats), (_WRITE, write_formats)):
        for name in formats:
            info = get_format(name)
            for option in info.read_options if side == _READ else info.write_options:
                seen = declared.setdefault(option.flag, (side, option, []))
                if (seen[0], seen[1].name, seen[1].type) != (side, option.name, option.type):
                    raise RuntimeError(f"{option.flag} is declared twice, differently ({name} and {seen[2]})")
                seen[2].append(name)
    verb = {_READ: "reading", _WRITE: "writing"}
    return [
        _click_option(side + option.name, option, f"{option.help} ({verb[side]} {', '.join(formats)})")
        for side, option, formats in declared.values()
    ]


def _click_option(parameter: str, option: Option, help: str) -> click.Option:
    # default None: only what the user gave reaches the reader/writer, which keeps its own default
    if option.type is bool:
        flag = f"{option.flag}/--no-{option.flag[2:]}" if option.negatable else option.flag
        return click.Option([flag, parameter], is_flag=True, default=None, help=help)
    kind: click.ParamType | type = option.type
    if option.choices:
        kind = click.Choice(list(option.choices))
    elif option.type is int and option.minimum is not None:
        kind = click.IntRange(min=option.minimum)
    return click.Option([option.flag, parameter], type=kind, default=None, metavar=option.metavar, help=help)


def _options(read_formats: Sequence[str], write_formats: Sequence[str]) -> Callable[[Callable[..., Any]], Any]:
    """Decorate a command with the format flags of the formats it can involve, then the common options."""

    def decorate(function: Callable[..., Any]) -> Any:
        for option in reversed(COMMON_OPTIONS):
            function = option(function)
        function.__click_params__.extend(reversed(_format_flags(read_formats, write_formats)))  # type: ignore[attr-defined]
        return function

    return decorate


_READERS = [name for name in format_names() if get_format(name).can_read]
_WRITERS = [name for name in format_names() if get_format(name).can_write]


@contextmanager
def _progress_bar(
    enabled: bool, source: str, from_format: str | None, to_format: str
) -> Iterator[ProgressCallback | None]:
    """The conversion's bar, named by the input format (detected when not given); the pipeline tells it the total
    when the input does (``Dataset.length``, record ``.idx`` files)."""
    from tfodkit.cli.progress import progress_bar, wanted
    from tfodkit.formats import detect_format

    name = (from_format or detect_format(source)) if wanted(enabled) else ""
    with progress_bar(enabled, f"{name} -> {to_format}", "items") as bar:
        yield bar


def _print_report(report: ConvertReport, target: str, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    if quiet:
        return
    subsets = ", ".join(f"{name} {count}" for name, count in sorted(report.items_per_subset.items())) or "none"
    skipped = f", {report.skipped} bad items skipped" if report.skipped else ""
    skipped += f", {sum(report.losses.values())} losses (above)" if report.losses else ""
    label_maps = [output for output in report.outputs if output.endswith(".pbtxt") and output != target]
    written_label_map = f" (label map: {label_maps[-1]})" if label_maps else ""
    objects = f"{report.objects} objects" + (
        f" written of {report.objects_read} read" if report.objects_read != report.objects else ""
    )
    click.echo(
        f"{report.source_format} -> {report.target_format}: {report.items} images, {objects}, "
        f"{report.labels} labels (subsets: {subsets}){skipped} in {report.seconds:.2f} s -> {target}{written_label_map}"
    )


def convert_and_report(
    source: str, target: str, from_format: str | None, to_format: str, options: dict[str, Any]
) -> None:
    """The body of convert/export/import/transform: route the flags, convert (locally or on Beam), print.

    Format flags arrive as ``read__<keyword>`` / ``write__<keyword>`` and go, as given, to ``convert()``'s
    ``read_options`` / ``write_options``, which checks them against the chosen formats; the rest are common.
    """
    read_options = {key[len(_READ) :]: value for key, value in options.items() if key.startswith(_READ)}
    write_options = {key[len(_WRITE) :]: value for key, value in options.items() if key.startswith(_WRITE)}
    common = {key: value for key, value in options.items() if not key.startswith((_READ, _WRITE))}
    as_json, quiet, on_error = common["as_json"], common["quiet"], common["on_error"]
    if common["beam_options"] and common["runner"] != "beam":
        raise UsageError("--beam-option needs --runner beam")
    transforms = [get_transform(name) for name in mask_transforms(common["mask_mode"])]
    transforms += [transform_from_spec(spec) for spec in common["transform_specs"]]
    conversion: dict[str, Any] = {
        "from_format": from_format,
        "to_format": to_format,
        "read_options": {name: value for name, value in read_options.items() if value is not None},
        "write_options": {name: value for name, value in write_options.items() if value is not None},
        "transforms": transforms,
        "target_labels": _label_list(common["target_labels"]),
        "workers": common["workers"],
    }
    if common["runner"] == "beam":
        if on_error != "stop":
            raise UsageError("--on-error skip works with --runner local only")
        from tfodkit.beam import convert_with_beam

        report = convert_with_beam(
            source,
            target,
            **conversion,
            beam_options=list(common["beam_options"]),
            overwrite=common["overwrite"],
            clip=common["clip"],
            strict=common["strict"],
        )
    else:
        with (
            _progress_bar(not quiet and not as_json, source, from_format, to_format) as progress,
            _repair_hint(on_error),
        ):
            report = convert(
                source,
                target,
                **conversion,
                progress=progress,
                on_error=on_error,
                strict=common["strict"],
                overwrite=common["overwrite"],
                clip=common["clip"],
            )
    if report.unmatched_labels:
        dropped = ", ".join(f"{name!r} ({count} objects)" for name, count in report.unmatched_labels.most_common())
        click.echo(f"tfod: warning: labels not in --target-labels, objects dropped: {dropped}", err=True)
    _warn_skipped(report)
    if not quiet or as_json:
        for line in report.loss_lines():
            click.echo(f"tfod: lost: {line}", err=True)
    _print_report(report, target, as_json, quiet)


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
@_options(_READERS, _WRITERS)
def convert_command(source: str, target: str, from_format: str | None, to_format: str, **options: Any) -> None:
    """Convert a dataset from one format to another, streaming.

    \b
    Examples:
      tfod convert annotations.xml train.tfrecord --from cvat --to tfrecord
      tfod convert VOCdevkit/ voc.tfrecord --from voc --to tfrecord --year VOC2007 --set trainval --shards 10
      tfod convert coco/ out.tfrecord --from coco --to tfrecord --masks all
      tfod convert task.zip yolo_out/ --from cvat-tfrecord --to yolo
    """
    convert_and_report(source, target, from_format, to_format, options)


@click.command("export")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--from", "from_format", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous).")
@_options(_READERS, ["cvat-tfrecord"])
def export_command(source: str, target: str, from_format: str | None, **options: Any) -> None:
    """Export a dataset as a CVAT "TFRecord 1.0" zip (<subset>.tfrecord + label_map.pbtxt).

    \b
    Examples:
      tfod export annotations.xml task.zip --save-images
      tfod export VOCdevkit/VOC2007 voc.zip --from voc --save-images
    """
    convert_and_report(source, target, from_format, "cvat-tfrecord", options)


@click.command("import")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--to", "to_format", type=FORMAT_CHOICE, required=True, help="Output format.")
@_options(["cvat-tfrecord"], _WRITERS)
def import_command(source: str, target: str, to_format: str, **options: Any) -> None:
    """Import a CVAT "TFRecord 1.0" zip (or a folder of .tfrecord files) into another format.

    \b
    Examples:
      tfod import task.zip out/ --to cvat
      tfod import task.zip coco_out/ --to coco --label-map label_map.pbtxt
    """
    import os

    from tfodkit.formats.tfod_files import RECORD_SUFFIXES

    if os.path.isfile(source) and source.lower().endswith(RECORD_SUFFIXES):  # not a zip or folder export
        raise UsageError(
            f"{source}: a bare record file, not a CVAT export (a .zip or a folder); "
            f"use `tfod convert {source} {target} --to {to_format}`"
        )
    convert_and_report(source, target, "cvat-tfrecord", to_format, options)


@click.command("transform")
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--from", "from_format", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous).")
@click.option("--to", "to_format", type=FORMAT_CHOICE, help="Output format (default: the input's).")
@_options(_READERS, _WRITERS)
def transform_command(source: str, target: str, from_format: str | None, to_format: str | None, **options: Any) -> None:
    """Apply transforms in order (the names Datumaro uses) while copying a dataset.

    \b
    Example:
      tfod transform task.zip masked.zip -t polygons_to_masks -t boxes_to_masks
    """
    from tfodkit.formats import detect_format

    from_format = from_format or detect_format(source)
    convert_and_report(source, target, from_format, to_format or from_format, options)


COMMANDS = [convert_command, export_command, import_command, transform_command]
