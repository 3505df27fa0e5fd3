"""Bytes made in a worker process, handed to the parent through a file instead of a pipe.

A worker writes the payloads of one chunk of work (framed records of ~100 KB with an embedded image) to a chunk
file and sends back only where each one is: a :class:`SpooledBytes`. The parent opens the chunk file, unlinks
it at once (the open descriptor keeps it readable, and nothing is left behind if the run dies), and copies
each span into its output with ``os.copy_file_range``, inside the kernel. The payloads are never pickled,
never cross a pipe and never enter the parent's memory. (Pickled back, they made a second worker slower than
one on conversions that embed images: 0.68 s with 2 workers against 0.50 s with 1 for 1,000 VOC images; 0.42 s
with 2 workers now.)
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

_COPY_CHUNK = 1 << 20
# copy_file_range fails with these where the kernel or filesystem cannot copy in place; read + write then.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.ETXTBSY}


@dataclass(frozen=True, slots=True)
class SpooledBytes:
    """``length`` bytes at ``offset`` of the open chunk file ``fd`` (valid while its chunk is being consumed)."""

    fd: int
    offset: int
    length: int

    def read(self) -> bytes:
        """The bytes themselves."""
        return os.pread(self.fd, self.length, self.offset)

    def copy_to(self, stream: IO[bytes]) -> None:
        """Append the bytes to ``stream``: in the kernel when it is a file, else through memory.

        Example:
            >>> import io, tempfile
            >>> with tempfile.TemporaryFile() as chunk:
            ...     _ = chunk.write(b"headPAYLOADtail"); chunk.flush()
            ...     out = io.BytesIO()
            ...     SpooledBytes(chunk.fileno(), 4, 7).copy_to(out)
            >>> out.getvalue()
            b'PAYLOAD'
        """
        try:
            out_fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # BytesIO, zip members, fsspec streams
            stream.write(self.read())
            return
        stream.flush()
        copied = 0
        while copied < self.length:
            try:
                step = os.copy_file_range(self.fd, out_fd, self.length - copied, self.offset + copied)
            except OSError as error:
                if error.errno not in _NO_KERNEL_COPY:
                    raise
                step = os.write(out_fd, os.pread(self.fd, min(_COPY_CHUNK, self.length - copied), self.offset + copied))
            if step <= 0:
                raise OSError(errno.EIO, f"spool chunk ended {self.length - copied} bytes early")
            copied += step
        stream.seek(0, os.SEEK_END)  # the buffered stream learns its new position from the file


SpoolWrite = Callable[[IO[bytes], Any], None]


def write_bytes(chunk: IO[bytes], payload: bytes) -> None:
    """The plain ``spool_write``: the payload as it is."""
    chunk.write(payload)


def write_chunk(
    results: Iterable[tuple[Any, ...]], folder: str, write_payload: SpoolWrite
) -> tuple[str, list[tuple[Any, ...]]]:
    """In a worker: write the last element of each result to a new chunk file in ``folder`` with
    ``write_payload(file, payload)``; return the file's path and the results with (offset, length) in its place."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="chunk-", dir=folder)
    placed: list[tuple[Any, ...]] = []
    with open(fd, "wb") as chunk:
        for *head, payload in results:
            start = chunk.tell()
            write_payload(chunk, payload)
            placed.append((*head, (start, chunk.tell() - start)))
    return path, placed


def open_chunk(path: str, placed: list[tuple[Any, ...]]) -> tuple[int, list[tuple[Any, ...]]]:
    """In the parent: open a worker's chunk file, unlink it, and turn its (offset, length) pairs into
    :class:`SpooledBytes`. The caller closes the descriptor once the chunk is consumed."""
    fd = os.open(path, os.O_RDONLY)
    os.unlink(path)
    return fd, [(*head, SpooledBytes(fd, *span)) for *head, span in placed]
