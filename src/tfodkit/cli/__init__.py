"""The ``tfod`` command: a click group; each command family lives in its own module.

Every :class:`~tfodkit.errors.TfodError` is printed on one line (``tfod: error: FILE: record 3, byte 120: …``)
and exits with status 2; Ctrl-C exits with 130 and leaves no partial output.
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from tfodkit import __version__
from tfodkit.errors import TfodError
from tfodkit.storage import TEMP_MARKER

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
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


def _register() -> None:
    from tfodkit.cli import convert

    for command in convert.COMMANDS:
        app.add_command(command)
    for module_name in ("tfodkit.cli.inspection", "tfodkit.cli.index"):
        try:
            module = __import__(module_name, fromlist=["COMMANDS"])
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        for command in module.COMMANDS:
            app.add_command(command)


_register()


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
