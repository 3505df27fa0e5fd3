"""PyTorch loading: TF OD API records as ``(image, target)`` samples, the layout torchvision's detection models take.

``pip install 'tfodkit[torch]'``. Two datasets over the same samples:

* :class:`DetectionDataset`, an ``IterableDataset`` that streams the records. With several DataLoader workers
  (and several processes under ``torch.distributed``) each reads its own part: whole files when there are at
  least as many files (shards) as readers, else its own slice of records found through the index
  (``tfod index``; built in memory by scanning the files when there is no ``.idx`` file). ``shuffle=True``
  reads the records in a new random order each epoch (:meth:`DetectionDataset.set_epoch`) through the index.
* :class:`IndexedDetectionDataset`, a map-style ``Dataset`` (``len``, ``dataset[i]``) for ``DataLoader(shuffle=True)``
  and samplers, reading each record by its offset.

A sample is ``(image, target)``: ``image`` is a ``uint8`` tensor ``(3, H, W)`` (RGB) when ``decode_images`` is
True, else the encoded bytes as a 1-D ``uint8`` tensor (for ``torchvision.io.decode_image`` or a GPU decoder);
``target`` holds ``boxes`` (``float32 (N, 4)``, absolute pixels ``xmin, ymin, xmax, ymax``), ``labels``
(``int64 (N,)``, label-map ids), ``size`` (``[H, W]``), ``filename``, ``source_id``, ``subset``, ``masks``
(``uint8 (N, H, W)``) when ``masks=True``, and ``iscrowd``, ``area``, ``difficult``, ``truncated`` when the
records have them. Batch with :func:`collate_detections` (images differ in size).

Example:
    >>> from torch.utils.data import DataLoader  # doctest: +SKIP
    >>> dataset = DetectionDataset("out/train-*-of-00008.tfrecord", shuffle=True)  # doctest: +SKIP
    >>> loader = DataLoader(dataset, batch_size=8, num_workers=4, collate_fn=collate_detections)  # doctest: +SKIP
    >>> images, targets = next(iter(loader))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from tfodkit.errors import FormatError, UsageError
from tfodkit.example import decode_example
from tfodkit.index import RecordIndex, is_compressed, load_or_build_index
from tfodkit.model import AREA, DIFFICULT, IS_CROWD, TRUNCATED, Item, LabelMap

try:
    import torch
    from torch.utils.data import Dataset as TorchDataset
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise UsageError("tfodkit.torch needs PyTorch: pip install 'tfodkit[torch]'") from error

Sample = tuple["torch.Tensor", dict[str, Any]]
SampleTransform = Callable[["torch.Tensor", dict[str, Any]], Sample]
_TENSOR_ATTRIBUTES = {
    IS_CROWD: ("iscrowd", torch.int64),
    AREA: ("area", torch.float32),
    DIFFICULT: ("difficult", torch.bool),
    TRUNCATED: ("truncated", torch.bool),
}


def collate_detections(batch: Sequence[Sample]) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """``DataLoader`` ``collate_fn`` for detection: ``([image, …], [target, …])`` (images differ in size)."""
    images, targets = zip(*batch, strict=True) if batch else ((), ())
    return list(images), list(targets)


class _Records:
    """The record files of a source, their subsets, and the label map that goes with them."""

    def __init__(
        self, source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], label_map: str | LabelMap | None
    ) -> None:
        from tfodkit.formats.tfod_files import find_label_map, record_files
        from tfodkit.labelmap import read_label_map

        sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        self.files: list[str] = []
        self.subsets: list[str] = []
        for item in sources:
            for subset, files in record_files(os.fspath(item)):
                self.files.extend(files)
                self.subsets.extend([subset] * len(files))
        if not self.files:
            raise FormatError("no record files", path=str(source))
        if isinstance(label_map, LabelMap):
            self.label_map = label_map
        else:
            found = label_map or find_label_map(os.path.dirname(self.files[0]) or ".")
            self.label_map = read_label_map(found) if found else LabelMap()


class _SampleMaker:
    """Record bytes → ``(image, target)``; shared by both datasets."""

    def __init__(
        self,
        label_map: LabelMap,
        decode_images: bool,
        masks: bool,
        images_dir: str | None,
        transform: SampleTransform | None,
    ) -> None:
        self.label_map = label_map
        self.decode_images = decode_images
        self.masks = masks
        self.images_dir = images_dir
        self.transform = transform

    def __call__(self, record: bytes, subset: str, where: str, record_index: int, label_map: LabelMap) -> Sample:
        from tfodkit.formats.tfod import example_to_item

        features = decode_example(record)
        item = example_to_item(
            features, label_map, subset=subset, images_dir=self.images_dir, where=where, record_index=record_index
        )
        image = self._image(item, where, record_index)
        target = _target(item, masks=self.masks)
        if self.transform is not None:
            return self.transform(image, target)
        return image, target

    def _image(self, item: Item, where: str, record_index: int) -> torch.Tensor:
        encoded = item.image.read() if item.image.has_bytes else b""
        if not self.decode_images:
            return (
                torch.frombuffer(bytearray(encoded), dtype=torch.uint8)
                if encoded
                else torch.zeros(0, dtype=torch.uint8)
            )
        if not encoded:
            raise FormatError(
                "the record embeds no image and no images_dir has it; use decode_images=False",
                path=where,
                record_index=record_index,
            )
        from PIL import Image

        with Image.open(io.BytesIO(encoded)) as opened:
            pixels = np.asarray(opened.convert("RGB"))
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def _target(item: Item, *, masks: bool) -> dict[str, Any]:
    width, height = item.image.size
    objects = item.objects
    target: dict[str, Any] = {
        "boxes": torch.as_tensor(objects.boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.as_tensor(objects.label_ids, dtype=torch.int64),
        "size": torch.tensor([height, width], dtype=torch.int64),
        "filename": item.image.name,
        "source_id": str(item.attributes.get("source_id") or ""),
        "subset": item.subset,
    }
    for column_name, (key, dtype) in _TENSOR_ATTRIBUTES.items():
        if column_name in objects.attributes:
            values = [0 if value is None else value for value in objects.attribute(column_name)]
            target[key] = torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=dtype)
    if masks:
        planes = np.zeros((len(objects), height, width), dtype=np.uint8)
        for index, mask in enumerate(objects.masks):
            if mask is not None:
                planes[index] = mask.array
        target["masks"] = torch.from_numpy(planes)
    return target


def _reader_part() -> tuple[int, int]:
    """(this reader's number, how many readers): DataLoader workers × torch.distributed processes."""
    worker = get_worker_info()
    worker_id, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return rank * workers + worker_id, world * workers


class DetectionDataset(IterableDataset):
    """Stream ``(image, target)`` samples from TF OD API records, split across DataLoader workers.

    ``source``: a record file, folder, glob or sharded name (or a list), local or an fsspec URL. ``label_map``:
    a ``label_map.pbtxt`` path or a :class:`LabelMap` (default: the one beside the records) — give it when
    records carry only ``class/text``, so every worker numbers labels alike. ``decode_images``: RGB ``uint8``
    tensors, or the encoded bytes. ``masks``: add ``target["masks"]``. ``shuffle``: a new random record order
    every epoch (seeded by ``seed`` and :meth:`set_epoch`), through the index of each file. ``images_dir``:
    where to find images that records do not embed. ``transform(image, target)`` runs last.

    Example: see the module docstring.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        label_map: str | LabelMap | None = None,
        decode_images: bool = True,
        masks: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        images_dir: str | None = None,
        transform: SampleTransform | None = None,
    ) -> None:
        super().__init__()
        records = _Records(source, label_map)
        self.files, self.subsets, self.label_map = records.files, records.subsets, records.label_map
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self._make = _SampleMaker(self.label_map, decode_images, masks, images_dir, transform)
        self._indexes: list[np.ndarray] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use a new shuffle order (call before each epoch, as with ``DistributedSampler``)."""
        self.epoch = epoch

    def _load_indexes(self) -> list[np.ndarray]:
        if self._indexes is None:
            self._indexes = [load_or_build_index(path) for path in self.files]
        return self._indexes

    def __iter__(self) -> Iterator[Sample]:
        part, parts = _reader_part()
        label_map = self.label_map.copy()  # readers add unknown labels; keep each iterator's additions its own
        if not self.shuffle and len(self.files) >= parts:
            yield from self._stream_files(range(part, len(self.files), parts), label_map)
        elif any(is_compressed(path) for path in self.files):
            if self.shuffle:
                raise UsageError("shuffle=True needs plain (uncompressed) record files: they are read by offset")
            yield from self._stream_every_nth(part, parts, label_map)
        else:
            yield from self._read_positions(self._positions(part, parts), label_map)

    def _stream_files(self, file_numbers: range, label_map: LabelMap) -> Iterator[Sample]:
        from tfodkit.records import read_records

        for number in file_numbers:
            path = self.files[number]
            for record_index, record in enumerate(read_records(path)):
                yield self._make(record, self.subsets[number], path, record_index, label_map)

    def _stream_every_nth(self, part: int, parts: int, label_map: LabelMap) -> Iterator[Sample]:
        from tfodkit.records import read_records

        counter = 0
        for number, path in enumerate(self.files):
            for record_index, record in enumerate(read_records(path)):
                if counter % parts == part:  # compressed files cannot be entered in the middle: skip, do not decode
                    yield self._make(record, self.subsets[number], path, record_index, label_map)
                counter += 1

    def _positions(self, part: int, parts: int) -> np.ndarray:
        """``(K, 2)`` array of (file number, record number) this reader reads, in reading order."""
        indexes = self._load_indexes()
        positions = np.concatenate(
            [
                np.stack([np.full(len(index), number), np.arange(len(index))], axis=1)
                for number, index in enumerate(indexes)
            ]
            or [np.zeros((0, 2), dtype=np.int64)]
        ).astype(np.int64)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(positions))
            return positions[order][part::parts]
        return np.array_split(positions, parts)[part]  # contiguous: each reader reads its own stretch of the files

    def _read_positions(self, positions: np.ndarray, label_map: LabelMap) -> Iterator[Sample]:
        indexes = self._load_indexes()
        readers: dict[int, RecordIndex] = {}
        try:
            for number, record_index in positions.tolist():
                reader = readers.get(number)
                if reader is None:
                    reader = readers[number] = RecordIndex(self.files[number], indexes[number])
                record = reader.read(record_index)
                yield self._make(record, self.subsets[number], self.files[number], record_index, label_map)
        finally:
            for reader in readers.values():
                reader.close()


class IndexedDetectionDataset(TorchDataset):
    """Map-style ``(image, target)`` samples by record number across all files, read by offset.

    Takes the same arguments as :class:`DetectionDataset` (no ``shuffle``: use ``DataLoader(shuffle=True)`` or a
    sampler). Files must be plain (uncompressed); their ``.idx`` files (``tfod index``) are used when present,
    else each file is scanned once, header to header.

    Example:
        >>> dataset = IndexedDetectionDataset("out/train.tfrecord")  # doctest: +SKIP
        >>> image, target = dataset[len(dataset) - 1]  # doctest: +SKIP
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        label_map: str | LabelMap | None = None,
        decode_images: bool = True,
        masks: bool = False,
        images_dir: str | None = None,
        transform: SampleTransform | None = None,
    ) -> None:
        records = _Records(source, label_map)
        self.files, self.subsets, self.label_map = records.files, records.subsets, records.label_map
        compressed = [path for path in self.files if is_compressed(path)]
        if compressed:
            raise UsageError(f"{compressed[0]}: random access needs plain (uncompressed) record files")
        self._readers = [RecordIndex(path) for path in self.files]
        self._starts = np.cumsum([0] + [len(reader) for reader in self._readers])
        self._make = _SampleMaker(self.label_map, decode_images, masks, images_dir, transform)

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, position: int) -> Sample:
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"record {position} of {len(self)}")
        number = int(np.searchsorted(self._starts, position, side="right")) - 1
        record_index = position - int(self._starts[number])
        record = self._readers[number].read(record_index)
        # The label map is shared: with a complete label map (or class/label ids in the records) ids never change.
        return self._make(record, self.subsets[number], self.files[number], record_index, self.label_map)


__all__ = ["DetectionDataset", "IndexedDetectionDataset", "collate_detections"]
