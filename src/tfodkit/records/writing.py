"""Writing TFRecord files: the exact bytes ``tf.io.TFRecordWriter`` writes (plain, GZIP and ZLIB)."""

from __future__ import annotations

import os
import zlib
from types import TracebackType
from typing import IO, TYPE_CHECKING

from tfodkit.errors import UsageError
from tfodkit.records.framing import CRC, HEADER, WINDOW_BITS, frame, normalize_compression
from tfodkit.records.shards import PathLike
from tfodkit.storage import atomic_file, is_url

if TYPE_CHECKING:
    from tfodkit.spool import SpooledBytes


def write_record(stream: IO[bytes], data: bytes) -> None:
    """Append one framed (uncompressed) record to a binary stream.

    Example:
        >>> import io
        >>> from tfodkit.records import read_records
        >>> buffer = io.BytesIO()
        >>> write_record(buffer, b"abc")
        >>> list(read_records(io.BytesIO(buffer.getvalue())))
        [b'abc']
    """
    data = bytes(data) if type(data) is not bytes else data
    header, footer = frame(data)
    stream.write(header)
    stream.write(data)
    stream.write(footer)


class RecordWriter:
    """Write a TFRecord file, byte-identical to ``tf.io.TFRecordWriter`` (plain, ``"gzip"`` or ``"zlib"``).

    ``target`` is a local path — written under a temporary name and renamed into place when the writer is
    closed without an error; an exception inside ``with`` leaves no file — or a binary stream (e.g. a zip
    member opened for writing), which is flushed but not closed.

    Example:
        >>> import tempfile, os
        >>> from tfodkit.records import read_records
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord.gz")
        >>> with RecordWriter(path, compression="gzip") as writer:
        ...     writer.write(b"first")
        ...     writer.write(b"second")
        >>> list(read_records(path))
        [b'first', b'second']
    """

    def __init__(self, target: PathLike | IO[bytes], compression: str | None = None) -> None:
        self.compression = normalize_compression(compression, allow_auto=False)
        self.records_written = 0
        self._atomic = None
        if isinstance(target, (str, os.PathLike)):
            if is_url(target):
                raise UsageError(f"cannot write a TFRecord file to a URL ({target}); write locally, then copy")
            self.path: str | None = os.fspath(target)
            self._atomic = atomic_file(target)
            self._stream: IO[bytes] = self._atomic.__enter__()
        else:
            self.path = None
            self._stream = target
        self._compressor = None
        if self.compression is not None:
            # TensorFlow's ZlibOutputBuffer settings: level 6, memLevel 9, window 15 (+16 for the gzip wrapper).
            self._compressor = zlib.compressobj(6, zlib.DEFLATED, WINDOW_BITS[self.compression], 9)
        self._closed = False

    @classmethod
    def to_stream(cls, stream: IO[bytes], compression: str | None = None) -> RecordWriter:
        """A writer into an open binary stream (the caller closes the stream after closing the writer)."""
        return cls(stream, compression)

    def write(self, data: bytes) -> None:
        """Append one record (``bytes``, ``bytearray`` or ``memoryview``)."""
        if self._closed:
            raise ValueError("write to a closed RecordWriter")
        if type(data) is not bytes:
            data = bytes(data)
        header, footer = frame(data)
        if self._compressor is None:
            self._stream.write(header)
            self._stream.write(data)
            self._stream.write(footer)
        else:
            compress = self._compressor.compress
            self._stream.write(compress(header) + compress(data) + compress(footer))
        self.records_written += 1

    def write_framed(self, framed: SpooledBytes) -> None:
        """Append one record that a worker already framed (``write_record``) into a spool chunk file.

        Uncompressed, the framed bytes are copied as they are (in the kernel when the target is a file);
        compressed, the record is taken out of its frame and written as by :meth:`write`.
        """
        if self._closed:
            raise ValueError("write to a closed RecordWriter")
        if self._compressor is not None:
            self.write(framed.read()[HEADER.size : -CRC.size])
            return
        framed.copy_to(self._stream)
        self.records_written += 1

    def close(self) -> None:
        """Finish the file: flush the compressor, and rename a path target into place."""
        if self._closed:
            return
        self._closed = True
        if self._compressor is not None:
            self._stream.write(self._compressor.flush())
        if self._atomic is not None:
            self._atomic.__exit__(None, None, None)
        else:
            self._stream.flush()

    def abort(self, error: BaseException | None = None) -> None:
        """Give up: a path target's temporary file is removed and no output appears."""
        if self._closed:
            return
        self._closed = True
        if self._atomic is not None:
            error = error or RuntimeError("RecordWriter aborted")
            try:
                self._atomic.__exit__(type(error), error, error.__traceback__)
            except BaseException as raised:  # atomic_file re-raises what it was given; that is expected here
                if raised is not error:
                    raise

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)
