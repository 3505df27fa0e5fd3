"""The ``tfod`` command: a click group; each command family lives in its own module.

Every :class:`~tfodkit.errors.TfodError` is printed on one line (``tfod: error: FILE: record 3, byte 120: …``)
and exits with status 2; Ctrl-C exits with 130 and leaves no partial output.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

from tfodkit import __version__
from tfodkit.errors import TfodError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

# name -> (module defining it, the first line of its docstring). `tfod --help` lists the commands from this table
# without importing their modules (which import the formats, numpy, PIL, lxml…); a command's module is imported
# only when that command runs or shows its help. tests/test_startup.py keeps each line equal to the docstring's.
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("tfodkit.cli.convert", "Convert a dataset from one format to another, streaming."),
    "diff": (
        "tfodkit.cli.inspection",
        "Compare two datasets in any formats: items only in A or B, objects added, removed, moved, relabelled.",
    ),
    "export": (
        "tfodkit.cli.convert",
        'Export a dataset as a CVAT "TFRecord 1.0" zip (<subset>.tfrecord + label_map.pbtxt).',
    ),
    "import": (
        "tfodkit.cli.convert",
        'Import a CVAT "TFRecord 1.0" zip (or a folder of .tfrecord files) into another format.',
    ),
    "index": (
        "tfodkit.cli.index",
        'Write FILE.idx beside each plain .tfrecord file: one "offset size" line per record.',
    ),
    "info": (
        "tfodkit.cli.inspection",
        "Describe a dataset: files, shards, compression, records per subset, keys and their types, label map.",
    ),
    "merge": (
        "tfodkit.cli.merge",
        "Merge datasets A B … into OUT: labels matched by name, subsets kept, duplicate images dropped and named.",
    ),
    "preview": (
        "tfodkit.cli.inspection",
        "Draw images with boxes, label names and masks, and write an HTML gallery (index.html) that works offline.",
    ),
    "repair": (
        "tfodkit.cli.inspection",
        "Copy every intact record of a damaged TFRecord file into a new file; report what was lost.",
    ),
    "stats": (
        "tfodkit.cli.inspection",
        "Statistics: objects per label and subset, objects per image, box sizes and aspect ratios, masks.",
    ),
    "transform": (
        "tfodkit.cli.convert",
        "Apply transforms in order (the names Datumaro uses) while copying a dataset.",
    ),
    "validate": (
        "tfodkit.cli.inspection",
        "Find what breaks training: CRCs, key types, list lengths, boxes, NaNs, labels, images, masks, duplicates.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use; its help lists them from :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            module = importlib.import_module(COMMANDS[cmd_name][0])
            command = next(command for command in module.COMMANDS if command.name == cmd_name)
            self.commands[cmd_name] = command
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS and args[0] not in self.commands:
            # a mistyped name: click suggests close names from the commands it has, so give it all of them
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout (Group.format_commands), with each short help from the table instead of the command
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # a stand-in command holding the first line shortens it exactly as click shortens the real one's docstring
        rows = [
            (name, click.Command(name, help=self._first_line(ctx, name)).get_short_help_str(limit)) for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _first_line(self, ctx: click.Context, name: str) -> str:
        if name in COMMANDS:
            return COMMANDS[name][1]
        command = self.get_command(ctx, name)  # one added with add_command: it is imported already
        return command.get_short_help_str(limit=10**6) if command is not None else ""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="tfod")
def app() -> None:
    """tfod: TF Object Detection API / CVAT "TFRecord 1.0" datasets without TensorFlow.

    \b
    Examples:
      tfod export annotations.xml task.zip --save-images      CVAT XML + images -> CVAT TFRecord zip
      tfod import task.zip out/ --to cvat                     CVAT TFRecord zip -> CVAT XML
      tfod convert VOCdevkit train.tfrecord --from voc --to tfrecord --set train
      tfod convert coco/ masks.tfrecord --from coco --to tfrecord --masks all
    """


def _show_warning(
    message: warnings.WarningMessage | Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> None:
    click.echo(f"tfod: warning: {message}", err=True)


def os_error_text(error: OSError) -> str:
    """``error`` on one line, naming the file the user asked for rather than tfodkit's temporary sibling of it.

    Example:
        >>> os_error_text(PermissionError(13, "Permission denied", "out/a.json.tfodkit-partial-12-ab12cd34"))
        'cannot write out/a.json: Permission denied'
        >>> os_error_text(PermissionError(1, "Operation not permitted", "/ro/.tfodkit-spool-x1y2"))
        'cannot write in /ro: Operation not permitted'
    """
    from tfodkit.storage import TEMP_MARKER

    reason = error.strerror or str(error)
    if not error.filename:
        return reason
    name = os.fsdecode(error.filename)
    head, marker, _ = name.partition(TEMP_MARKER)
    if marker:  # an atomic output's temporary file or folder: the target is its name without the marker
        return f"cannot write {head}: {reason}"
    folder, base = os.path.split(name)
    if base.startswith(".tfodkit-"):  # a scratch file tfodkit makes inside the output folder
        return f"cannot write in {folder or '.'}: {reason}"
    return f"{name}: {reason}"


def main(argv: list[str] | None = None) -> None:
    """Run ``tfod``; the console script's entry point."""
    warnings.showwarning = _show_warning
    try:
        exit_code = app.main(args=argv, prog_name="tfod", standalone_mode=False)
    except TfodError as error:
        click.echo(f"tfod: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("tfod: interrupted; no output was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("tfod: interrupted; no output was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_ERROR)
    except OSError as error:  # a full disk (ENOSPC), a file-size limit (EFBIG), no permission: one line, no traceback
        click.echo(f"tfod: error: {os_error_text(error)}; no output was written", err=True)
        sys.exit(EXIT_ERROR)
    # Commands return an int status (``tfod validate``: 1 when it found problems); click returns it here.
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)
