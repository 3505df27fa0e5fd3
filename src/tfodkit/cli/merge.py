"""``tfod merge A B … OUT``: several datasets as one (see :mod:`tfodkit.merge`)."""

from __future__ import annotations

import json

import click

from tfodkit.formats import format_names, get_format
from tfodkit.merge import merge

_READERS = [name for name in format_names() if get_format(name).can_read]
_WRITERS = [name for name in format_names() if get_format(name).can_write]
_SHOWN = 5  # duplicates / renames named one a line; the rest counted


@click.command("merge")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--to", "to_format", type=click.Choice(_WRITERS), required=True, help="Output format.")
@click.option(
    "--from",
    "from_format",
    type=click.Choice(_READERS),
    help="Input format of every input (default: each told from its files).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("--strict", is_flag=True, help="Fail (exit 2, nothing written) on any loss, duplicates included.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes for TFRecord encoding."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
def merge_command(
    paths: tuple[str, ...],
    to_format: str,
    from_format: str | None,
    overwrite: bool,
    strict: bool,
    workers: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Merge datasets A B … into OUT: labels matched by name, subsets kept, duplicate images dropped and named.

    \b
    Examples:
      tfod merge cvat_task1.zip cvat_task2.zip all.tfrecord --to tfrecord
      tfod merge coco_a/ voc_b/ merged_coco/ --to coco
    """
    if len(paths) < 3:
        raise click.UsageError("give at least two datasets and the output: tfod merge A B … OUT")
    *sources, target = paths
    report = merge(
        sources,
        target,
        to_format=to_format,
        from_format=from_format,
        workers=workers,
        strict=strict,
        overwrite=overwrite,
    )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    if quiet:
        return
    for title, names in (("dropped duplicate image", report.duplicates), ("renamed (id taken)", report.renamed)):
        for name in names[:_SHOWN]:
            click.echo(f"tfod: {title}: {name}", err=True)
        if len(names) > _SHOWN:
            click.echo(f"tfod: … and {len(names) - _SHOWN} more", err=True)
    for line in report.loss_lines():
        click.echo(f"tfod: lost: {line}", err=True)
    subsets = ", ".join(f"{name} {count}" for name, count in sorted(report.items_per_subset.items())) or "none"
    click.echo(
        f"{len(sources)} datasets ({report.source_format}) -> {to_format}: {report.items} images, "
        f"{report.objects} objects, {report.labels} labels (subsets: {subsets}) in {report.seconds:.2f} s -> {target}"
    )


COMMANDS = [merge_command]
