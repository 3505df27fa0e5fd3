"""``tfod repair``: copy every intact record of a damaged TFRecord file into a new file.

The input is scanned with :func:`tfodkit.inspection.scan.scan_records` (resynchronising on the next record whose
length CRC and data CRC both verify); intact records are written unchanged, in order, atomically. A GZIP/ZLIB
input is decompressed as far as the compressed stream allows: deflate cannot be resynchronised, so
everything after damage inside the compressed stream is lost, and the report says at which compressed byte.

Example:
    >>> import os, tempfile
    >>> from tfodkit.records import RecordWriter
    >>> folder = tempfile.mkdtemp()
    >>> with RecordWriter(os.path.join(folder, "in.tfrecord")) as writer:
    ...     for data in (b"one", b"two"):
    ...         writer.write(data)
    >>> with open(os.path.join(folder, "in.tfrecord"), "r+b") as file:
    ...     _ = file.truncate(30)  # cut the second record
    >>> report = repair(os.path.join(folder, "in.tfrecord"), os.path.join(folder, "out.tfrecord"))
    >>> report.records_recovered, [(r.start, r.end) for r in report.damaged_ranges]
    (1, [(19, 30)])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tfodkit.errors import UsageError
from tfodkit.inspection.scan import DamagedRange, IntactRecord, scan_records
from tfodkit.inspection.sources import RecordSource, framed_bytes, record_sources
from tfodkit.records import RecordWriter
from tfodkit.storage import check_output

SAME = "same"


@dataclass
class RepairReport:
    """What a repair found: records copied, byte ranges lost (offsets in the uncompressed stream)."""

    source: str
    target: str
    compression: str | None
    target_compression: str | None
    stream_bytes: int = 0  # framed (uncompressed) bytes scanned
    records_recovered: int = 0
    damaged_ranges: list[DamagedRange] = field(default_factory=list)
    stream_error: str | None = None  # the compressed stream broke here; nothing after it could be read
    stream_error_offset: int | None = None

    @property
    def records_lost(self) -> int:
        """Records lost, at least (each damaged range started a record; headers seen inside it add more)."""
        return sum(damage.records_lost for damage in self.damaged_ranges)

    @property
    def bytes_lost(self) -> int:
        return sum(damage.size for damage in self.damaged_ranges)

    @property
    def damaged(self) -> bool:
        return bool(self.damaged_ranges) or self.stream_error is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "compression": self.compression,
            "target_compression": self.target_compression,
            "stream_bytes": self.stream_bytes,
            "records_recovered": self.records_recovered,
            "records_lost_at_least": self.records_lost,
            "bytes_lost": self.bytes_lost,
            "damaged_ranges": [
                {
                    "start": damage.start,
                    "end": damage.end,
                    "bytes": damage.size,
                    "records_lost_at_least": damage.records_lost,
                }
                for damage in self.damaged_ranges
            ],
            "stream_error": self.stream_error,
            "stream_error_offset": self.stream_error_offset,
        }


def repair(source: str, target: str, *, compression: str | None = SAME, overwrite: bool = False) -> RepairReport:
    """Copy the intact records of the TFRecord file ``source`` to ``target`` and report what was lost.

    ``compression``: ``"same"`` (the input's), None, ``"gzip"`` or ``"zlib"``. ``target`` appears only when
    the copy finished (it is written under a temporary name first). A ``target`` that exists is refused unless
    ``overwrite``; the input itself always (:func:`tfodkit.storage.check_output`).
    """
    record_source = _single_source(source)
    check_output(target, inputs=[source], overwrite=overwrite)
    with framed_bytes(record_source) as framed:
        target_compression = framed.compression if compression == SAME else compression
        report = RepairReport(
            record_source.where,
            str(target),
            framed.compression,
            target_compression,
            stream_bytes=len(framed.buffer),
            stream_error=framed.stream_error,
            stream_error_offset=framed.stream_error_offset,
        )
        with RecordWriter(target, compression=target_compression) as writer:
            for event in scan_records(framed.buffer):
                if isinstance(event, IntactRecord):
                    writer.write(event.data)
                    report.records_recovered += 1
                else:
                    report.damaged_ranges.append(event)
    return report


def _single_source(path: str) -> RecordSource:
    sources = record_sources(path)
    if len(sources) != 1 or sources[0].path is None:
        names = ", ".join(source.where for source in sources[:5])
        raise UsageError(f"{path}: repair takes one TFRecord file, not {len(sources)} ({names})")
    return sources[0]
