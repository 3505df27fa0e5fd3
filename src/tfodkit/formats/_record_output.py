"""TFRecord output plumbing for the TFOD writer: which file each record goes to (the one file, or one per subset;
``shards=N`` by item key, or rolling ``shard_size`` shards), the spool folder workers hand records back through,
and whether the label map beside the records may be written.
"""

from __future__ import annotations

import contextlib
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tfodkit.errors import TfodError, UsageError
from tfodkit.formats._files import checked_subset_name
from tfodkit.labelmap import parse_label_map, read_label_map
from tfodkit.records import RecordWriter, shard_names
from tfodkit.spool import SpooledBytes
from tfodkit.storage import OutputSet, work_folder_prefix


class RecordRouter:
    """Sends each record to its file: the one output file, or ``<subset>.tfrecord`` in a folder; then the shard
    by item key (``shards``) or the rolling shard that has room (``shard_size``)."""

    def __init__(
        self,
        single_file: Path | None,
        folder: Path,
        outputs: OutputSet,
        compression: str | None,
        shards: int | None,
        shard_size: int | None,
        open_stream: Callable[[Path], IO[bytes] | None],
    ) -> None:
        self.single_file, self.folder, self.outputs, self.compression = single_file, folder, outputs, compression
        self.shards, self.shard_size, self.open_stream = shards, shard_size, open_stream
        self.writers: dict[Path, RecordWriter] = {}
        self.streams: list[IO[bytes]] = []  # given by open_stream; closed after their writers
        self.bases: set[Path] = set()  # one per subset (folder output) or the one file
        self.rolling: dict[Path, list[int]] = {}  # shard_size: base -> [index of the open shard, bytes in it]

    def write(self, subset: str, item_key: str, record: bytes | SpooledBytes) -> None:
        """``record``: Example bytes, or a framed record a worker spooled."""
        base = self.single_file or self.folder / f"{checked_subset_name(subset)}.tfrecord"
        self.bases.add(base)
        record_path = base
        if self.shards:
            record_path = Path(shard_names(str(base), self.shards)[shard_of(item_key, self.shards)])
        elif self.shard_size:
            framed_size = record.length if isinstance(record, SpooledBytes) else len(record) + 16
            record_path = self._rolling_path(base, framed_size)
        writer = self._writer_for(record_path)
        if isinstance(record, SpooledBytes):
            writer.write_framed(record)
        else:
            writer.write(record)

    def _rolling_path(self, base: Path, framed_size: int) -> Path:
        state = self.rolling.setdefault(base, [0, 0])
        if state[1] and state[1] + framed_size > self.shard_size:  # type: ignore[operator]
            self.writers[_rolling_shard(base, state[0])].close()  # done: keeps open files to one per subset
            state[0] += 1
            state[1] = 0
        state[1] += framed_size
        return _rolling_shard(base, state[0])

    def _writer_for(self, record_path: Path) -> RecordWriter:
        writer = self.writers.get(record_path)
        if writer is None:
            stream = self.open_stream(record_path)
            if stream is None:
                # The temporary name is the output set's; a path writer would add its own on top of it.
                stream = open(self.outputs.temp_path_for(record_path), "wb")  # noqa: SIM115 (closed in close/abort)
            self.streams.append(stream)
            writer = RecordWriter.to_stream(stream, compression=self.compression)
            self.writers[record_path] = writer
        return writer

    def close(self) -> None:
        """Open the files no record went to (an empty dataset still gives its file; every shard of a set
        exists), then close them all."""
        for base in self.bases or {self.single_file or self.folder / "default.tfrecord"}:
            if self.shard_size:
                self._writer_for(_rolling_shard(base, self.rolling.setdefault(base, [0, 0])[0]))
                continue
            for record_path in map(Path, shard_names(str(base), self.shards)) if self.shards else [base]:
                self._writer_for(record_path)
        for writer in self.writers.values():
            writer.close()
        self._close_streams()

    def abort(self, error: BaseException) -> None:
        for writer in self.writers.values():
            writer.abort(error)
        self._close_streams()

    def _close_streams(self) -> None:
        for stream in self.streams:
            stream.close()
        self.streams.clear()

    def final_paths(self) -> list[Path]:
        """The record files' final names; rolling shards are renamed NAME-0000i-of-0000N now the count is known."""
        if not self.shard_size:
            return list(self.writers)
        record_paths = []
        for base, (last_index, _) in self.rolling.items():
            for index, final_name in enumerate(shard_names(str(base), last_index + 1)):
                self.outputs.rename_target(_rolling_shard(base, index), final_name)
                record_paths.append(Path(final_name))
        return record_paths


def no_stream(record_path: Path) -> None:
    return None


def spool_folder(folder: Path, workers: int) -> contextlib.AbstractContextManager[str | None]:
    """With workers, records come back through chunk files in a folder beside the output (see tfodkit.spool):
    on the output's disk, so the kernel copies them in place."""
    if workers <= 1:
        return contextlib.nullcontext()
    return tempfile.TemporaryDirectory(prefix=work_folder_prefix("spool"), dir=folder)


def _rolling_shard(base: Path, index: int) -> Path:
    """The provisional name of shard ``index`` of ``base`` while the shard count is not known yet."""
    return base.with_name(f"{base.name}.shard-{index}")


def shard_of(item_key: str, shards: int) -> int:
    """Deterministic shard of an item: CRC-32 of its key mod the shard count (same on every run and worker)."""
    return zlib.crc32(item_key.encode("utf-8")) % shards


def keep_label_map(path: Path, text: str, overwrite: bool) -> bool:
    """Whether to write the label map ``text`` to ``path``: not when the same text is there already; a different
    one there is refused (naming the labels that differ) unless ``overwrite``."""
    try:
        old_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return True
    except (OSError, UnicodeDecodeError):
        old_text = None
    if old_text == text:
        return False
    if overwrite:
        return True
    detail = "it is not a label map tfodkit can read"
    if old_text is not None:
        with contextlib.suppress(TfodError):
            old_names = read_label_map(str(path)).names
            new_names = parse_label_map(text).names
            only_old = [name for name in old_names if name not in new_names]
            only_new = [name for name in new_names if name not in old_names]
            detail = (
                f"only in it: {', '.join(only_old) or 'none'}; only in the new one: {', '.join(only_new) or 'none'}"
                if only_old or only_new
                else "the same names with other ids"
            )
    raise UsageError(
        f"{path} exists with other labels ({detail}); --overwrite replaces it, --label-map-out PATH writes it elsewhere"
    )
