"""``tfod info``, ``stats``, ``validate``, ``preview``, ``diff`` and ``repair``: looking inside datasets.

Each command prints rich tables (or one JSON document with ``--json``) and returns its exit status:
``validate`` 1 when it found problems, ``diff`` 1 when the datasets differ, ``repair`` 1 when records were
lost; 2 (raised as a TfodError, printed by ``tfod``'s main) when the input cannot be read at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click

from tfodkit.cli import render
from tfodkit.cli.progress import progress_bar
from tfodkit.formats import format_names
from tfodkit.parallel import default_workers

FORMAT_CHOICE = click.Choice(format_names())
EXIT_CLEAN = 0
EXIT_FOUND = 1


def _input_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--from", "format_name", type=FORMAT_CHOICE, help="Input format (auto-detected when unambiguous)."
        ),
        click.option("--label-map", type=click.Path(dir_okay=False), help="label_map.pbtxt for the input."),
        click.option(
            "--images",
            "images_dir",
            type=click.Path(file_okay=False),
            help="Folder of the images records do not embed.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")


def _overwrite_option(what: str) -> Callable[..., Any]:
    return click.option(
        "--overwrite", is_flag=True, default=False, help=f"Replace an existing {what} (else it is refused)."
    )


def _workers_option(default: int, help: str) -> Callable[..., Any]:
    return click.option("--workers", type=click.IntRange(min=1), default=default, show_default=True, help=help)


def _console() -> Any:
    return render.console()


def _schema_text(schema: dict[str, Any] | None, types: dict[str, int]) -> str:
    """The schema table's word on a key: its kinds and scope, and a warning when a record holds another kind."""
    if schema is None:
        return "-"
    text = f"{' or '.join(schema['kinds'])}, per {'object' if schema['per_object'] else 'image'}"
    wrong = [kind for kind in types if kind not in schema["kinds"]]
    return text + (f" (not {', '.join(wrong)}: `tfod validate` shows where)" if wrong else "")


def _table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> render.TableSpec:
    return render.TableSpec(title, columns, rows, right)


def _echo_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return str(count)


# ------------------------------------------------------------------------------------------ info
@click.command("info")
@click.argument("path", type=click.Path())
@_input_options
@_json_option
def info_command(
    path: str, format_name: str | None, label_map: str | None, images_dir: str | None, as_json: bool
) -> int:
    """Describe a dataset: files, shards, compression, records per subset, keys and their types, label map.

    \b
    Examples:
      tfod info train.tfrecord
      tfod info records/ --json
      tfod info task.zip
    """
    from tfodkit.inspection.info import dataset_info

    with progress_bar(not as_json, f"info {path}"):
        report = dataset_info(path, format_name, label_map=label_map, images_dir=images_dir)
    if as_json:
        _echo_json(report.as_dict())
    else:
        _print_info(report)
    return EXIT_CLEAN if report.complete else 2


def _print_info(report: Any) -> None:
    from tfodkit.inspection import info

    console = _console()
    console.print(
        f"[bold]{report.source}[/] ({report.format}): {report.records} records, {report.objects} objects, "
        f"{_size(report.total_bytes) if report.files else ''}"
    )
    if report.files:
        rows: list[tuple[Any, ...]] = []
        for file in report.files:
            shard = "" if file.shard is None else f"{file.shard[0]} of {file.shard[1]}"
            rows.append(
                (
                    file.path,
                    file.subset,
                    shard,
                    file.compression or "none",
                    _size(file.bytes),
                    file.records,
                    file.error or "",
                )
            )
        console.print(
            _table("Files", ("file", "subset", "shard", "compression", "size", "records", "error"), rows, right=(4, 5))
        )
    for subset, missing in report.missing_shards.items():
        console.print(f"[red]subset {subset!r} lacks shard(s) {', '.join(map(str, missing))}[/]")
    subsets = [
        (subset, count, report.objects_per_subset.get(subset, 0))
        for subset, count in sorted(report.records_per_subset.items())
    ]
    console.print(
        _table("Subsets", ("subset", "records" if report.files else "items", "objects"), subsets, right=(1, 2))
    )
    if report.keys:
        rows = [
            (
                key,
                ", ".join(f"{kind} {count}" for kind, count in entry["types"].items()),
                entry["records"],
                _schema_text(entry.get("schema"), entry["types"]),
            )
            for key, entry in sorted(report.keys.items())
        ]
        columns = ("key", "types", "records", "schema")
        console.print(_table("Keys" if report.files else "Object attributes", columns, rows, right=(2,)))
    formats = ", ".join(f"{name} {count}" for name, count in report.image_formats.most_common()) or "none"
    console.print(f"Images embedded: {report.embedded_images} of {report.records} ({formats})")
    if report.label_map is not None:
        names = report.label_map.names
        shown = ", ".join(f"{label.id}: {label.name}" for label in list(report.label_map)[:12])
        more = f" … (+{len(names) - 12})" if len(names) > 12 else ""
        console.print(
            f"Label map: {report.label_map_path or '(from the annotations)'}: {len(names)} labels ({shown}{more})"
        )
    else:
        console.print("Label map: none found (labels come from class/text or ids)")
    if report.labels_in_records:
        in_map = set(report.label_map.names) if report.label_map is not None else set()
        unknown = [
            name
            for name in report.labels_in_records
            if report.label_map is not None and name not in in_map and name != info.UNLABELED
        ]
        console.print(
            f"Labels used by objects: {len(report.labels_in_records)}"
            + (f" ([red]not in the label map: {', '.join(unknown[:10])}[/])" if unknown else "")
        )
    for error in report.errors:
        console.print(f"[red]error: {error}[/]")


# ------------------------------------------------------------------------------------------ stats
@click.command("stats")
@click.argument("path", type=click.Path())
@_input_options
@click.option("--subset", help="Only this subset.")
@click.option("--masks", is_flag=True, help="Decode instance masks to measure their coverage (slower).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), help="Write PNG charts into this folder.")
# One process by default: stats cost about as much as reading (bench/bench_stats.py), and a second process only
# pays when a core is idle; large files split into N parts with --workers N.
@_workers_option(1, "Processes; large TFRecord files are split into this many parts (same result for any number).")
@_overwrite_option("--plot folder")
@_json_option
def stats_command(
    path: str,
    format_name: str | None,
    label_map: str | None,
    images_dir: str | None,
    subset: str | None,
    masks: bool,
    plot_dir: str | None,
    workers: int,
    overwrite: bool,
    as_json: bool,
) -> int:
    """Statistics: objects per label and subset, objects per image, box sizes and aspect ratios, masks.

    \b
    Examples:
      tfod stats train.tfrecord
      tfod stats task.zip --plot charts/ --json
      tfod stats VOCdevkit/VOC2007 --from voc
    """
    from tfodkit.inspection.stats import compute_stats

    if plot_dir is not None:  # refused before the (long) pass over the data, not after it
        from tfodkit.storage import check_output

        check_output(plot_dir, inputs=[path, label_map, images_dir], overwrite=overwrite)
    with progress_bar(not as_json, f"stats {path}"):
        report = compute_stats(
            path, format_name, masks=masks, label_map=label_map, images_dir=images_dir, subset=subset, workers=workers
        )
    charts = []
    if plot_dir is not None:
        from tfodkit.inspection.charts import write_stats_charts

        charts = write_stats_charts(report, plot_dir, inputs=[path, label_map, images_dir], overwrite=overwrite)
    if as_json:
        document = report.as_dict()
        document["charts"] = [str(chart) for chart in charts]
        _echo_json(document)
    else:
        _print_stats(report)
        if charts:
            click.echo(f"charts: {', '.join(str(chart) for chart in charts)}")
    return EXIT_CLEAN


def _print_stats(report: Any) -> None:
    console = _console()
    empty = sum(report.empty_images_per_subset.values())
    console.print(
        f"[bold]{report.source}[/] ({report.format}): {report.images} images, {report.objects} objects, "
        f"{len(report.label_totals())} labels, {empty} images without objects"
    )
    subsets = report.subsets
    rows = []
    for name, total in report.label_totals():
        per_subset = report.objects_per_label.get(name, {})
        rows.append((name, *(per_subset.get(subset, 0) for subset in subsets), total))
    rows.append(("[bold]all[/]", *(report.objects_per_subset[subset] for subset in subsets), report.objects))
    rows.append(("images", *(report.images_per_subset[subset] for subset in subsets), report.images))
    rows.append(("images without objects", *(report.empty_images_per_subset[subset] for subset in subsets), empty))
    console.print(
        _table(
            "Objects per label and subset", ("label", *subsets, "total"), rows, right=tuple(range(1, len(subsets) + 2))
        )
    )
    if report.keypoint_objects:
        visible = ", ".join(f"{name} {count}" for name, count in report.visible_keypoints.most_common())
        console.print(f"keypoints: {report.keypoint_objects} objects with keypoints; visible points: {visible or '-'}")
    bins = report.objects_per_image_bins()
    console.print(
        _table(
            "Objects per image",
            ("objects", "images", ""),
            [(label, count, _bar(count, max(c for _, c in bins))) for label, count in bins],
            right=(1,),
        )
    )
    rows = []
    for title, histogram in (
        ("width / image width", report.relative_width),
        ("height / image height", report.relative_height),
        ("area / image area", report.relative_area),
        ("width (px)", report.pixel_width),
        ("height (px)", report.pixel_height),
        ("aspect ratio (w / h)", report.aspect_ratio),
    ):
        summary = histogram.summary()
        if not summary["count"]:
            continue
        rows.append(
            (title, *(f"{summary[key]:.4g}" for key in ("min", "p5", "p25", "p50", "p75", "p95", "max", "mean")))
        )
    if rows:
        console.print(
            _table(
                f"Box sizes ({report.relative_width.count} boxes; {report.degenerate_boxes} without area left out)",
                ("", "min", "p5", "p25", "median", "p75", "p95", "max", "mean"),
                rows,
                right=tuple(range(1, 9)),
            )
        )
    categories = report.size_categories
    console.print(
        f"COCO size categories: small (< 32²px) {categories['small']}, medium {categories['medium']}, "
        f"large (≥ 96²px) {categories['large']}"
    )
    sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in report.image_sizes.most_common(5))
    more = f" and {len(report.image_sizes) - 5} more" if len(report.image_sizes) > 5 else ""
    console.print(f"Image sizes: {sizes}{more}")
    formats = ", ".join(f"{name} {count}" for name, count in report.image_formats.most_common()) or "none"
    console.print(f"Embedded images: {report.embedded_images} ({formats})")
    line = f"Objects with masks: {report.masked_objects}"
    if report.masks_decoded and report.mask_fraction.count:
        line += (
            f"; mask area / image: median {report.mask_fraction.quantile(0.5):.3g}; "
            f"image covered by masks: mean {report.mask_union.mean:.3g}"
        )
    console.print(line)


def _bar(count: int, maximum: int, width: int = 30) -> str:
    return "█" * round(width * count / maximum) if maximum else ""


# ------------------------------------------------------------------------------------------ validate
@click.command("validate")
@click.argument("path", type=click.Path())
@_input_options
@click.option(
    "--no-decode", is_flag=True, help="Read image and mask headers only (faster; corrupt pixel data goes unnoticed)."
)
@click.option(
    "--max-findings",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Findings listed in full (0: all); every finding is counted.",
)
@_workers_option(default_workers(), "Processes checking records (same result for any number).")
@_json_option
def validate_command(
    path: str,
    format_name: str | None,
    label_map: str | None,
    images_dir: str | None,
    no_decode: bool,
    max_findings: int,
    workers: int,
    as_json: bool,
) -> int:
    """Find what breaks training: CRCs, key types, list lengths, boxes, NaNs, labels, images, masks, duplicates.

    Exit status: 0 clean, 1 problems found, 2 the input could not be read.

    \b
    Examples:
      tfod validate train.tfrecord --label-map label_map.pbtxt
      tfod validate records/ --json > findings.json
      tfod validate task.zip --images frames/
    """
    from tfodkit.inspection.validate import CHECKS, validate

    with progress_bar(not as_json, f"validate {path}"):
        report = validate(
            path,
            format_name,
            label_map=label_map,
            images_dir=images_dir,
            decode_images=not no_decode,
            workers=workers,
            max_findings=max_findings,
        )
    if as_json:
        _echo_json(report.as_dict())
    else:
        console = _console()
        summary = (
            f"[bold]{report.source}[/] ({report.format}): {report.files} file(s), {report.records} records, "
            f"{report.images_checked} images checked, label map: {report.label_map_path or 'none'}"
        )
        console.print(summary)
        if report.clean:
            console.print("[green]no problems found[/]")
        else:
            rows = [
                (
                    finding.file,
                    "" if finding.record is None else finding.record,
                    "" if finding.offset is None else finding.offset,
                    finding.key or "",
                    "" if finding.object is None else finding.object,
                    finding.check,
                    finding.message,
                )
                for finding in report.findings
            ]
            console.print(
                _table(
                    "Findings", ("file", "record", "byte", "key", "object", "check", "problem"), rows, right=(1, 2, 4)
                )
            )
            if report.total > len(report.findings):
                console.print(f"… {report.total - len(report.findings)} more (raise --max-findings)")
            counts = [(check, count, CHECKS.get(check, "")) for check, count in sorted(report.counts.items())]
            console.print(_table(f"{report.total} problem(s)", ("check", "count", "meaning"), counts, right=(1,)))
    return EXIT_CLEAN if report.clean else EXIT_FOUND


# ------------------------------------------------------------------------------------------ preview
@click.command("preview")
@click.argument("path", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the PNGs and index.html."
)
@_input_options
@click.option("--limit", type=click.IntRange(min=1), help="At most N images.")
@click.option("--subset", help="Only this subset.")
@click.option("--label", "labels", multiple=True, help="Only images with an object of this label (repeatable).")
@click.option("--no-masks", is_flag=True, help="Do not draw instance masks.")
@_overwrite_option("earlier preview in --output")
@_json_option
def preview_command(
    path: str,
    output: str,
    format_name: str | None,
    label_map: str | None,
    images_dir: str | None,
    limit: int | None,
    subset: str | None,
    labels: tuple[str, ...],
    no_masks: bool,
    overwrite: bool,
    as_json: bool,
) -> int:
    """Draw images with boxes, label names and masks, and write an HTML gallery (index.html) that works offline.

    \b
    Examples:
      tfod preview train.tfrecord -o preview/ --limit 50
      tfod preview task.zip -o preview/ --images frames/ --label car --label person
    """
    from tfodkit.inspection.preview import preview

    with progress_bar(not as_json, f"preview {path}", "images"):
        report = preview(
            path,
            output,
            format_name,
            limit=limit,
            subset=subset,
            labels=list(labels) or None,
            images_dir=images_dir,
            label_map=label_map,
            masks=not no_masks,
            overwrite=overwrite,
        )
    document = {
        "output": report.output,
        "index": f"{report.output}/index.html",
        "images": report.images,
        "objects": report.objects,
        "without_image": report.without_image,
        "labels": report.labels,
    }
    if as_json:
        _echo_json(document)
    else:
        note = f" ({report.without_image} without image bytes, drawn on a blank canvas)" if report.without_image else ""
        click.echo(f"{report.images} images, {report.objects} objects{note} -> {report.output}/index.html")
    return EXIT_CLEAN


# ------------------------------------------------------------------------------------------ diff
@click.command("diff")
@click.argument("path_a", type=click.Path())
@click.argument("path_b", type=click.Path())
@click.option("--from-a", "format_a", type=FORMAT_CHOICE, help="Format of A (auto-detected when unambiguous).")
@click.option("--from-b", "format_b", type=FORMAT_CHOICE, help="Format of B.")
@click.option("--label-map-a", type=click.Path(dir_okay=False), help="label_map.pbtxt for A.")
@click.option("--label-map-b", type=click.Path(dir_okay=False), help="label_map.pbtxt for B.")
@click.option("--images-a", type=click.Path(file_okay=False), help="Images folder for A.")
@click.option("--images-b", type=click.Path(file_okay=False), help="Images folder for B.")
@click.option(
    "--iou",
    "iou_threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="Smallest IoU at which two objects are the same object.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.01,
    show_default=True,
    help="Pixels a box corner may move before the object counts as moved.",
)
@click.option("--no-images", is_flag=True, help="Do not compare image bytes.")
@click.option("--subsets", is_flag=True, help="Also report items whose subset differs.")
@click.option(
    "--show", type=click.IntRange(min=0), default=20, show_default=True, help="Changed items listed in the terminal."
)
@_json_option
def diff_command(
    path_a: str,
    path_b: str,
    format_a: str | None,
    format_b: str | None,
    label_map_a: str | None,
    label_map_b: str | None,
    images_a: str | None,
    images_b: str | None,
    iou_threshold: float,
    tolerance: float,
    no_images: bool,
    subsets: bool,
    show: int,
    as_json: bool,
) -> int:
    """Compare two datasets in any formats: items only in A or B, objects added, removed, moved, relabelled.

    Exit status: 0 identical, 1 different, 2 an input could not be read.

    \b
    Examples:
      tfod diff annotations.xml task.zip                 did the export lose anything?
      tfod diff a.tfrecord b.tfrecord --iou 0.7 --json
      tfod diff VOCdevkit/VOC2007 voc.tfrecord --from-a voc --no-images
    """
    from tfodkit.inspection.diff import diff

    with progress_bar(not as_json, f"diff {path_a} {path_b}", "items"):
        report = diff(
            path_a,
            path_b,
            format_a=format_a,
            format_b=format_b,
            options_a={"label_map": label_map_a, "images_dir": images_a},
            options_b={"label_map": label_map_b, "images_dir": images_b},
            iou_threshold=iou_threshold,
            tolerance=tolerance,
            compare_images=not no_images,
            compare_subsets=subsets,
        )
    if as_json:
        _echo_json(report.as_dict())
    else:
        _print_diff(report, show)
    return EXIT_CLEAN if report.identical else EXIT_FOUND


def _print_diff(report: Any, show: int) -> None:
    from tfodkit.inspection.diff import CHANGE_KINDS

    console = _console()
    console.print(
        _table(
            None,
            ("", "A", "B"),
            [
                ("path", report.a, report.b),
                ("format", report.format_a, report.format_b),
                ("items", report.items_a, report.items_b),
                ("objects", report.objects_a, report.objects_b),
            ],
        )
    )
    rows: list[tuple[Any, ...]] = [
        (kind.replace("_", " "), report.counts[kind]) for kind in CHANGE_KINDS if report.counts[kind]
    ]
    rows.insert(0, ("items in both", report.matched_items))
    rows.insert(1, ("unchanged objects", report.unchanged_objects))
    console.print(_table("Differences", ("", "count"), rows, right=(1,)))
    for title, names in (("only in A", report.only_in_a), ("only in B", report.only_in_b)):
        if names:
            console.print(f"Items {title}: {', '.join(names[:show])}" + (" …" if len(names) > show else ""))
    if report.labels_only_in_a or report.labels_only_in_b:
        console.print(
            f"Labels only in A: {report.labels_only_in_a or '-'}; only in B: {report.labels_only_in_b or '-'}"
        )
    rows = []
    for item in report.changed_items[:show]:
        for kind in item.image_changes:
            rows.append((item.id, kind.replace("_", " "), "", "; ".join(item.detail)))
        for change in item.changes:
            what = change.label_a if change.label_a is not None else change.label_b
            box = change.box_a if change.box_a is not None else change.box_b
            text = change.detail or f"{what} [{', '.join(f'{value:.1f}' for value in box or ())}]"
            rows.append((item.id, change.kind.replace("_", " "), what, text))
    if rows:
        console.print(
            _table(
                "Changed items" + (f" (first {show})" if len(report.changed_items) > show else ""),
                ("item", "change", "label", "detail"),
                rows,
            )
        )
    console.print("[green]identical[/]" if report.identical else "[red]the datasets differ[/]")


# ------------------------------------------------------------------------------------------ repair
@click.command("repair")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option(
    "--compression",
    type=click.Choice(["same", "none", "gzip", "zlib"]),
    default="same",
    show_default=True,
    help="Compression of the output.",
)
@_overwrite_option("TARGET")
@_json_option
def repair_command(source: str, target: str, compression: str, overwrite: bool, as_json: bool) -> int:
    """Copy every intact record of a damaged TFRecord file into a new file; report what was lost.

    Exit status: 0 nothing was lost, 1 damage found (the intact records are in TARGET), 2 could not read.

    \b
    Example:
      tfod repair broken.tfrecord fixed.tfrecord
    """
    from tfodkit.inspection.repair import repair

    report = repair(source, target, compression=None if compression == "none" else compression, overwrite=overwrite)
    if as_json:
        _echo_json(report.as_dict())
    else:
        console = _console()
        console.print(
            f"{report.records_recovered} intact records copied to {report.target} "
            f"(compression: {report.target_compression or 'none'})"
        )
        if report.damaged_ranges:
            rows = [(damage.start, damage.end, damage.size, damage.records_lost) for damage in report.damaged_ranges]
            where = " of the uncompressed stream" if report.compression else ""
            console.print(
                _table(
                    f"Damaged byte ranges{where}",
                    ("from", "to", "bytes", "records lost (at least)"),
                    rows,
                    right=(0, 1, 2, 3),
                )
            )
            console.print(f"[red]lost: at least {report.records_lost} record(s), {report.bytes_lost} bytes[/]")
        if report.stream_error:
            console.print(
                f"[red]{report.stream_error} at compressed byte {report.stream_error_offset}: "
                "nothing after it could be read[/]"
            )
        if not report.damaged:
            console.print("[green]no damage found[/]")
    return EXIT_FOUND if report.damaged else EXIT_CLEAN


COMMANDS = [info_command, stats_command, validate_command, preview_command, diff_command, repair_command]
