"""Datumaro's ``tf_detection_api`` reader and importer, backed by tfodkit's record reader (no TensorFlow).

Same items as Datumaro's own plugin: one subset per ``.tfrecord`` file (its stem), item ids are
``image/filename`` without the extension, ``source_id`` kept as an attribute, embedded images as
:class:`~datumaro.components.media.Image` from the original bytes, label categories from ``label_map.pbtxt``
(then labels found in ``class/text``), masks as ``Mask`` annotations. Unlike it: a masked object whose box is
not the mask's extent keeps its box (a ``Bbox`` in the mask's group), label-map ids with gaps keep the right
labels, a folder without ``label_map.pbtxt`` reads, and image sizes are kept when the image is not embedded.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any

import numpy as np
from datumaro.components.annotation import Annotation, AnnotationType, Bbox, LabelCategories
from datumaro.components.annotation import Mask as DatumaroMask
from datumaro.components.dataset_base import DatasetItem, SubsetBase
from datumaro.components.importer import ImportContext, Importer
from datumaro.components.media import Image

from tfodkit.datumaro.format import ANNOTATIONS_DIR, FORMAT_NAME, IMAGES_DIR, RECORD_EXTENSION, TfrecordImporterType
from tfodkit.formats import tfod
from tfodkit.masks import Mask
from tfodkit.model import Item, LabelMap


class TfDetectionApiBase(SubsetBase):
    """The items of one ``.tfrecord`` file (Datumaro's ``DatasetBase`` for ``tf_detection_api``).

    Example (with Datumaro installed):
        >>> import tfodkit.datumaro  # doctest: +SKIP
        >>> from datumaro.components.dataset import Dataset  # doctest: +SKIP
        >>> Dataset.import_from("records/", "tf_detection_api")  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str,
        *,
        tfrecord_importer_type: TfrecordImporterType = TfrecordImporterType.default,
        subset: str | None = None,
        ctx: ImportContext | None = None,
    ) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(path)
        record_dir = osp.dirname(osp.abspath(path))
        images_dir = record_dir  # no Datumaro images folder: image files are looked up beside the records
        if osp.basename(record_dir) == ANNOTATIONS_DIR and osp.isdir(osp.join(osp.dirname(record_dir), IMAGES_DIR)):
            images_dir = osp.join(osp.dirname(record_dir), IMAGES_DIR)
        super().__init__(subset=subset or osp.splitext(osp.basename(path))[0], ctx=ctx)
        del tfrecord_importer_type  # tfodkit reads records with or without image/source_id alike

        dataset = tfod.read(path, images_dir=images_dir)
        tfod_items = list(dataset)  # labels found in class/text join the label map while reading
        label_map = dataset.label_map
        self._label_index = {label.id: index for index, label in enumerate(label_map)}
        self._categories = {AnnotationType.label: LabelCategories.from_iterable(label_map.names)}
        self._items = [self._to_datumaro(item, label_map) for item in tfod_items]

    def _to_datumaro(self, item: Item, label_map: LabelMap) -> DatasetItem:
        annotations: list[Annotation] = []
        objects = item.objects
        for index in range(len(objects)):
            label = self._label_index.get(int(objects.label_ids[index]))  # id 0 (unlabeled) -> None
            xmin, ymin, xmax, ymax = (float(value) for value in objects.boxes[index])
            mask = objects.masks[index]
            if mask is None:
                annotations.append(Bbox(xmin, ymin, xmax - xmin, ymax - ymin, label=label))
                continue
            datumaro_mask = DatumaroMask(image=_mask_loader(mask), label=label)
            annotations.append(datumaro_mask)
            if not _same_box(datumaro_mask.get_bbox(), (xmin, ymin, xmax - xmin, ymax - ymin)):
                # Datumaro's own reader drops this box; keep it, with the mask in one group (one object)
                group = index + 1
                datumaro_mask.group = datumaro_mask.id = group
                annotations.append(Bbox(xmin, ymin, xmax - xmin, ymax - ymin, label=label, group=group, id=group))
        for annotation in annotations:
            self._ann_types.add(annotation.type)
        return DatasetItem(
            id=item.id,
            subset=self._subset,
            media=_media(item),
            annotations=annotations,
            attributes={"source_id": item.attributes.get("source_id", "")},
        )


def _mask_loader(mask: Mask) -> Any:
    # Datumaro decodes lazily too: the PNG stays undecoded until the mask's pixels are asked for
    return lambda: mask.array


def _same_box(a: Any, b: Any) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol=1e-3))


def _media(item: Item) -> Image | None:
    ref = item.image
    size = None if ref.known_size is None else (ref.known_size[1], ref.known_size[0])  # Datumaro: (H, W)
    if ref.data:
        return Image.from_bytes(data=ref.data, size=size)  # the embedded bytes, never re-encoded
    if ref.path:
        return Image.from_file(path=ref.path, size=size)
    return None


class TfDetectionApiImporter(Importer):
    """Finds ``*.tfrecord`` files (recursively, as Datumaro does); each becomes one subset."""

    _FORMAT_EXT = RECORD_EXTENSION

    @classmethod
    def find_sources(cls, path: str) -> list[dict[str, Any]]:
        sources = cls._find_sources_recursive(path=path, ext=cls._FORMAT_EXT, extractor_name=FORMAT_NAME)
        return [{"url": source["url"], "format": FORMAT_NAME} for source in sources if _has_records(source["url"])]

    @classmethod
    def get_file_extensions(cls) -> list[str]:
        return [cls._FORMAT_EXT]


def _has_records(path: str) -> bool:
    # Datumaro's plugin asks TensorFlow whether the first record has image/source_id; a readable detection record
    # (or an empty file) is enough here: an unrelated .tfrecord is rejected by its first record failing to decode.
    from tfodkit.example import decode_example
    from tfodkit.records import read_records

    try:
        for record in read_records(path):
            decode_example(record)
            return True
    except Exception:  # any read or decode failure means "not this format", as detection expects
        return False
    return os.path.getsize(path) == 0
