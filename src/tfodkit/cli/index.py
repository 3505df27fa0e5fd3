"""``tfod index``: record offsets for random access (PyTorch shuffling, the ``tfrecord`` package, DALI)."""

from __future__ import annotations

import json

import click


@click.command("index")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the files indexed as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
@click.option(
    "--overwrite", is_flag=True, default=False, help="Replace a FILE.idx that is not an index file (else refused)."
)
def index_command(paths: tuple[str, ...], as_json: bool, quiet: bool, overwrite: bool) -> None:
    """Write FILE.idx beside each plain .tfrecord file: one "offset size" line per record.

    PATHS are files, folders, globs or sharded names (train.tfrecord for train-0000i-of-0000N.tfrecord), local
    or fsspec URLs. The format is the `tfrecord` package's and NVIDIA DALI's (tfrecord2idx), so their readers
    take these files; tfodkit.torch.DetectionDataset uses them for random access and shuffling.

    An up-to-date FILE.idx is left as it is, a stale one (an index of other records) is rewritten; a FILE.idx
    that is not an index file is refused unless --overwrite.

    \b
    Examples:
      tfod index train.tfrecord                 -> train.tfrecord.idx
      tfod index 'out/train-*-of-00008.tfrecord'
      tfod index out/                           every record file in out/
    """
    from tfodkit.index import index_files, read_index

    written = index_files(list(paths), overwrite=overwrite)
    if as_json:
        click.echo(
            json.dumps(
                [{"records": len(read_index(index)), "file": record, "index": index} for record, index in written],
                indent=2,
            )
        )
    elif not quiet:
        for _, index in written:
            click.echo(f"{index}: {len(read_index(index))} records")


COMMANDS = [index_command]
