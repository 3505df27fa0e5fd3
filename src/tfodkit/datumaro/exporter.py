"""Datumaro's ``tf_detection_api`` exporter, backed by tfodkit's record writer (no TensorFlow).

Writes what Datumaro's own exporter writes — ``label_map.pbtxt`` and one ``<subset>.tfrecord`` per subset, keys
as the TF OD API reads them — with its options (``save_media``, ``image_ext``, ``save_dataset_meta``,
``save_masks``), minus its faults: images are embedded as their original bytes (a JPEG is never re-encoded
unless ``image_ext`` asks for another format), a group's box is the box it had (not only the union with its
mask), label names keep non-ASCII letters, and annotations the format cannot hold are counted and said
(:func:`tfodkit.losses.report_loss`) instead of vanishing.
"""

from __future__ import annotations

import logging
import os
import os.path as osp
from collections import Counter
from typing import Any

import numpy as np
from datumaro.components.annotation import AnnotationType, LabelCategories
from datumaro.components.dataset_base import DatasetItem
from datumaro.components.errors import DatasetExportError
from datumaro.components.exporter import Exporter
from datumaro.components.media import Image, ImageFromBytes, ImageFromFile
from datumaro.util.annotation_util import find_group_leader, find_instances, max_bbox
from datumaro.util.image import encode_image
from datumaro.util.mask_tools import merge_masks

from tfodkit.datumaro.format import DEFAULT_IMAGE_EXT, LABEL_MAP_FILE, RECORD_EXTENSION
from tfodkit.formats import tfod
from tfodkit.labelmap import write_label_map
from tfodkit.losses import report_loss
from tfodkit.masks import Mask
from tfodkit.model import ImageRef, Item, LabelMap, Objects, image_format_of
from tfodkit.records import RecordWriter

log = logging.getLogger(__name__)

_INSTANCE_TYPES = {AnnotationType.bbox, AnnotationType.mask}
# Image formats a file extension names (as Datumaro's exporter maps them); bytes of the same format are kept as-is.
_EXT_FORMAT = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".bmp": "bmp",
    ".gif": "gif",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
}


class TfDetectionApiExporter(Exporter):
    """Write a Datumaro dataset as TF OD API records (Datumaro's ``Exporter`` for ``tf_detection_api``).

    Example (with Datumaro installed):
        >>> import tfodkit.datumaro  # doctest: +SKIP
        >>> dataset.export("out/", "tf_detection_api", save_media=True)  # doctest: +SKIP
    """

    DEFAULT_IMAGE_EXT = DEFAULT_IMAGE_EXT

    @classmethod
    def build_cmdline_parser(cls, **kwargs: Any) -> Any:
        parser = super().build_cmdline_parser(**kwargs)
        parser.add_argument("--save-masks", action="store_true", help="Include instance masks (default: %(default)s)")
        return parser

    def __init__(self, extractor: Any, save_dir: str, save_masks: bool = False, **kwargs: Any) -> None:
        super().__init__(extractor, save_dir, **kwargs)
        self._save_masks = save_masks

    @classmethod
    def patch(cls, dataset: Any, patch: Any, save_dir: str, **kwargs: Any) -> None:
        """In-place ``dataset.save()``: rewrite only the subsets that changed, leave the others' files alone."""
        for subset in patch.updated_subsets:
            cls.convert(dataset.get_subset(subset), save_dir=save_dir, **kwargs)

    def _apply_impl(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        categories: LabelCategories = self._extractor.categories().get(AnnotationType.label, LabelCategories())
        # Datumaro label index i is label-map id i + 1, as Datumaro's own exporter numbers them
        label_map = LabelMap.from_names(label.name for label in categories.items)
        if self._save_dataset_meta:
            self._save_meta_file(self._save_dir)
        write_label_map(label_map, osp.join(self._save_dir, LABEL_MAP_FILE))
        for subset_name, subset in self._extractor.subsets().items():
            dropped: Counter[str] = Counter()
            record_path = osp.join(self._save_dir, subset_name + RECORD_EXTENSION)
            with RecordWriter(record_path) as writer:  # atomic: an error (or a --strict loss) leaves no file
                for item in subset:
                    writer.write(tfod.item_to_example(self._to_tfodkit(item, dropped), label_map, save_images=True))
                _report_dropped(dropped)

    # ------------------------------------------------------------------------------------------ items
    def _to_tfodkit(self, item: DatasetItem, dropped: Counter[str]) -> Item:
        if not isinstance(item.media, Image):
            raise DatasetExportError(f"Failed to export dataset item '{item.id}': item has no image info")
        size = item.media.size
        if size is None:
            raise DatasetExportError(f"Failed to export dataset item '{item.id}': its image size is unknown")
        height, width = size
        filename = self._make_image_filename(item)
        data = self._image_bytes(item, filename) if self._save_media else None
        image = ImageRef(filename, data=data, width=width, height=height)
        source_id = item.attributes.get("source_id")
        return Item(
            item.id,
            image,
            self._objects(item, height, width, dropped),
            subset=item.subset,
            attributes={"source_id": str(source_id or "")},  # Datumaro writes "" for a missing source id
        )

    def _image_bytes(self, item: DatasetItem, filename: str) -> bytes | None:
        media = item.media
        if not media.has_data:
            log.warning("Item '%s' has no image", item.id)
            return None
        wanted = _EXT_FORMAT.get(osp.splitext(filename)[1].lower())
        original = _original_bytes(media)
        if original is not None and (wanted is None or image_format_of(original) == wanted):
            return original  # the source file's bytes, unchanged (Datumaro's exporter decodes and re-encodes)
        ext = osp.splitext(filename)[1] if wanted else DEFAULT_IMAGE_EXT
        return encode_image(media.data, ext)

    def _objects(self, item: DatasetItem, height: int, width: int, dropped: Counter[str]) -> Objects:
        for annotation in item.annotations:
            if annotation.type not in _INSTANCE_TYPES:
                dropped[annotation.type.name] += 1
        instances = find_instances(a for a in item.annotations if a.type in _INSTANCE_TYPES)
        boxes: list[list[float]] = []
        label_ids: list[int] = []
        masks: list[Mask | None] = []
        for group in instances:
            group_boxes = [a for a in group if a.type == AnnotationType.bbox]
            group_masks = [a for a in group if a.type == AnnotationType.mask]
            leader = find_group_leader(group_boxes + group_masks)
            # a group's own box when it has one (Datumaro takes the union of the box and the masks)
            x, y, w, h = max_bbox(group_boxes) if group_boxes else max_bbox(group_masks)
            boxes.append([x, y, x + w, y + h])
            label_ids.append(0 if leader.label is None else leader.label + 1)
            mask = None
            if group_masks and self._save_masks:
                mask = Mask.from_array(_fit(merge_masks(m.image for m in group_masks), height, width, dropped))
            elif group_masks:
                dropped["mask"] += len(group_masks)
            masks.append(mask)
        return Objects(
            boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            label_ids=np.asarray(label_ids, dtype=np.int64),
            masks=masks,
        )


def _original_bytes(media: Image) -> bytes | None:
    if isinstance(media, ImageFromBytes) and isinstance(media._data, bytes):  # the bytes it was made from
        return media._data
    if isinstance(media, ImageFromFile) and media.path and osp.isfile(media.path):
        with open(media.path, "rb") as file:
            return file.read()
    return None


def _fit(mask: np.ndarray, height: int, width: int, dropped: Counter[str]) -> np.ndarray:
    """``mask`` as a (height, width) bool array: the OD API decoder reshapes every mask to the image size."""
    mask = np.asarray(mask).astype(bool)
    if mask.shape == (height, width):
        return mask
    if mask[height:, :].any() or mask[:, width:].any():
        dropped["mask_pixels"] += 1
    fitted = np.zeros((height, width), dtype=bool)
    fitted[: min(height, mask.shape[0]), : min(width, mask.shape[1])] = mask[:height, :width]
    return fitted


def _report_dropped(dropped: Counter[str]) -> None:
    """One loss per kind of what the records could not hold (Datumaro annotation types other than boxes and masks
    are counted by their type name)."""
    dropped = Counter(dropped)
    report_loss(
        "mask_not_exported", dropped.pop("mask", 0), "masks not exported (their boxes are); --save-masks exports them"
    )
    report_loss(
        "mask_cropped", dropped.pop("mask_pixels", 0), "masks larger than their image cropped to the image size"
    )
    for name, count in sorted(dropped.items()):
        report_loss(
            f"{name}_not_exported", count, f"{name} annotations not exported: TF OD API records hold boxes and masks"
        )
