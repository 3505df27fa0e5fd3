"""The one GZIP/ZLIB stream reader: ``read(n)`` over the decompressed bytes, in bounded steps.

Used by the record reader (:func:`tfodkit.records.read_records`) and by the inspect tools, which spool a
compressed file to disk to scan it (:func:`inflate_into`). A GZIP stream may hold any number of members
(``cat a.gz b.gz``, NUL padding between them allowed); a ZLIB stream holds one.
"""

from __future__ import annotations

import shutil
import zlib
from typing import IO, Protocol

from tfodkit.errors import CorruptRecordError
from tfodkit.records.framing import CHUNK, WINDOW_BITS

COMPRESSED_READ = 1 << 20  # compressed bytes asked of the underlying stream at a time


class Readable(Protocol):
    """Anything with ``read(n)``: a file, a zip member, a stream that could not seek back."""

    def read(self, size: int = -1, /) -> bytes: ...  # noqa: D102

    def close(self) -> None: ...  # noqa: D102


class Inflater:
    """``read(n)`` over the decompressed bytes of a GZIP (any number of members) or ZLIB stream.

    Decompresses in bounded steps, so memory follows what is asked for, never what a header claims. Damage
    (bad data, a truncated stream) raises :class:`CorruptRecordError` at the decompressed offset where it
    was found, but only once every byte decompressed before it has been handed out; ``consumed`` then says
    how many compressed bytes were read without fault.

    Example:
        >>> import gzip, io
        >>> stream = io.BytesIO(gzip.compress(b"one ") + b"\\0\\0" + gzip.compress(b"two"))
        >>> Inflater(stream, "gzip", "a.gz").read(100)
        b'one two'
    """

    def __init__(self, raw: Readable, compression: str, path: str) -> None:
        self._raw = raw
        self._compression = compression
        self._wbits = WINDOW_BITS[compression]
        self._path = path
        self._decompressor = zlib.decompressobj(self._wbits)
        self._input = b""
        self._output = bytearray()
        self._in_member = False
        self._finished = False
        self._error: CorruptRecordError | None = None
        self._read_raw = 0
        self.produced = 0  # decompressed bytes handed out so far

    @property
    def consumed(self) -> int:
        """Compressed bytes decompressed without fault so far (NUL padding between members included)."""
        return self._read_raw - len(self._input)

    def _fail(self, message: str) -> None:
        # Kept until the bytes before the damage are handed out: a reader sees every record that survived.
        self._error = CorruptRecordError(message, path=self._path, offset=self.produced + len(self._output))
        self._finished = True

    def _step(self, want: int) -> None:
        if not self._input:
            self._input = self._raw.read(COMPRESSED_READ)
            self._read_raw += len(self._input)
            if not self._input:
                if self._in_member:
                    self._output += self._decompressor.flush()  # what the cut member still gives
                    self._fail(f"{self._compression} stream ends early (truncated file)")
                    return
                self._finished = True
                return
        if not self._in_member and self._compression == "gzip":
            self._input = self._input.lstrip(b"\x00")  # NUL padding between members, as gzip allows
            if not self._input:
                return
        self._in_member = True
        try:
            self._output += self._decompressor.decompress(self._input, max(want, 1 << 16))
        except zlib.error as error:
            self._fail(f"bad {self._compression} data ({error})")
            return
        if self._decompressor.eof:  # end of a member: another may follow
            self._input = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(self._wbits)
            self._in_member = False
        else:
            self._input = self._decompressor.unconsumed_tail

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (fewer only at the end); ``b""`` at the end of the stream."""
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        output = self._output
        while len(output) < size and not self._finished:
            self._step(min(size - len(output), CHUNK))
        if not output and self._error is not None and size:
            raise self._error
        if len(output) <= size:
            data = bytes(output)
            output.clear()
        else:
            data = bytes(memoryview(output)[:size])
            del output[:size]
        self.produced += len(data)
        return data

    def close(self) -> None:
        self._raw.close()


def inflate_into(
    stream: Readable, out: IO[bytes], compression: str | None, name: str = ""
) -> tuple[str | None, int | None]:
    """Copy ``stream`` to ``out``, decompressing GZIP (every member) or ZLIB; stop at damage and say where.

    Returns ``(None, None)``, or the damage and the compressed byte where it was found; every byte
    decompressed before it is written.

    Example:
        >>> import io, zlib
        >>> out = io.BytesIO()
        >>> inflate_into(io.BytesIO(zlib.compress(b"abc")[:-3]), out, "zlib")
        ('zlib stream ends early (truncated file)', 8)
        >>> out.getvalue()
        b'abc'
    """
    if compression is None:
        shutil.copyfileobj(stream, out, COMPRESSED_READ)
        return None, None
    inflater = Inflater(stream, compression, name)
    try:
        while True:
            piece = inflater.read(COMPRESSED_READ)
            if not piece:
                return None, None
            out.write(piece)
    except CorruptRecordError as error:
        return error.message, inflater.consumed
