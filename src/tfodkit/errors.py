"""The one exception hierarchy of tfodkit.

Every error a user can cause with bad input is a :class:`TfodError`; the CLI prints it on one line and
exits non-zero. Errors carry the file and, where known, the place in it (record index, byte offset, line).
"""

from __future__ import annotations

from collections.abc import Callable


class TfodError(Exception):
    """Base of every error tfodkit raises for bad input or a failed run.

    Example:
        >>> try:
        ...     raise CorruptRecordError("bad crc", path="a.tfrecord", record_index=3, offset=120)
        ... except TfodError as error:
        ...     print(error)
        a.tfrecord: record 3, byte 120: bad crc
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        record_index: int | None = None,
        offset: int | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.record_index = record_index
        self.offset = offset
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        places = []
        if self.line is not None:
            places.append(f"line {self.line}")
        if self.record_index is not None:
            places.append(f"record {self.record_index}")
        if self.offset is not None:
            places.append(f"byte {self.offset}")
        prefix = ""
        if self.path is not None:
            prefix = f"{self.path}: "
        if places:
            prefix += ", ".join(places) + ": "
        return prefix + self.message

    def __reduce__(self) -> tuple[Callable[..., TfodError], tuple[object, ...]]:
        # keep the fields across process boundaries (multiprocessing workers)
        return (
            _rebuild_error,
            (type(self), self.message, self.path, self.record_index, self.offset, self.line),
        )


def _rebuild_error(
    cls: type[TfodError],
    message: str,
    path: str | None,
    record_index: int | None,
    offset: int | None,
    line: int | None,
) -> TfodError:
    return cls(message, path=path, record_index=record_index, offset=offset, line=line)


class CorruptRecordError(TfodError):
    """A TFRecord file is damaged: bad CRC, truncated record, impossible length prefix."""


class ExampleDecodeError(TfodError):
    """Bytes that should be a ``tf.train.Example`` are not valid protobuf wire data."""


class LabelMapError(TfodError):
    """A ``label_map.pbtxt`` cannot be parsed, or holds duplicate / invalid ids or names."""


class FormatError(TfodError):
    """A dataset file (record, XML, JSON, TXT) is readable but does not follow its format."""


class UnsafeArchiveError(TfodError):
    """An archive tries to escape its folder, repeats names, or unpacks to more than allowed."""


class UsageError(TfodError):
    """The request itself is wrong: unknown format, missing option, conflicting arguments."""


class LossError(TfodError):
    """``strict`` was asked for and the output would not hold something the input had (see :mod:`tfodkit.losses`).

    ``kind`` is the loss kind (``polygon_not_exported``…), as in ``--json``'s ``losses``.
    """

    def __init__(self, message: str, *, kind: str = "", **place: object) -> None:
        self.kind = kind
        super().__init__(message, **place)  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[Callable[..., TfodError], tuple[object, ...]]:
        return (_rebuild_loss_error, (self.message, self.kind))


def _rebuild_loss_error(message: str, kind: str) -> LossError:
    return LossError(message, kind=kind)


class TfodWarning(UserWarning):
    """Something was skipped or guessed, and the run went on (shapes a format cannot hold, missing images).

    Filter them all with ``warnings.simplefilter("ignore", tfodkit.TfodWarning)``.
    """
