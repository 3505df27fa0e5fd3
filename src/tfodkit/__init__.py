"""tfodkit: TF Object Detection API / CVAT "TFRecord 1.0" datasets without TensorFlow.

Everything public is re-exported here; other modules are private. Names are imported on first use, so
``import tfodkit`` stays cheap for a command that needs one piece.

Example:
    >>> import tfodkit
    >>> tfodkit.LabelMap.from_names(["car"]).id_of("car")
    1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tfodkit.errors import (
    CorruptRecordError,
    ExampleDecodeError,
    FormatError,
    LabelMapError,
    LossError,
    TfodError,
    TfodWarning,
    UnsafeArchiveError,
    UsageError,
)

__version__ = "0.1.0"

# public name -> module that defines it. The TYPE_CHECKING block at the end imports the same names eagerly, and
# README.md's "Public names" lists them: tests/test_exported_members.py keeps the three in step.
_EXPORTS: dict[str, str] = {
    # model
    **dict.fromkeys(["Dataset", "ImageRef", "Item", "Label", "LabelMap", "Objects"], "tfodkit.model"),
    "Mask": "tfodkit.masks",
    # TFRecord files and tf.train.Example
    **dict.fromkeys(
        ["RecordWriter", "count_records", "detect_compression", "expand_sources", "find_shards", "read_records",
         "record_offsets", "shard_names", "write_record"],
        "tfodkit.records",
    ),
    **dict.fromkeys(["FeatureType", "decode_example", "encode_example", "feature_type"], "tfodkit.example"),
    **dict.fromkeys(["format_label_map", "parse_label_map", "read_label_map", "write_label_map"], "tfodkit.labelmap"),
    # conversion
    **dict.fromkeys(["ConvertReport", "convert", "read_dataset", "write_dataset"], "tfodkit.pipeline"),
    **dict.fromkeys(["detect_format", "format_names"], "tfodkit.formats"),
    **dict.fromkeys(
        ["TransformChain", "apply_transforms", "boxes_to_masks", "filter_labels", "get_transform",
         "masks_to_polygons", "merge_instance_parts", "polygons_to_masks", "remap_labels", "retarget_labels",
         "shapes_to_boxes", "transform_names"],
        "tfodkit.transforms",
    ),
    # inspection
    **dict.fromkeys(
        ["compute_stats", "dataset_info", "diff", "diff_datasets", "preview", "repair", "scan_records", "validate"],
        "tfodkit.inspection",
    ),
}

__all__ = [
    "CorruptRecordError",
    "ExampleDecodeError",
    "FormatError",
    "LabelMapError",
    "LossError",
    "TfodError",
    "TfodWarning",
    "UnsafeArchiveError",
    "UsageError",
    "__version__",
    *sorted(_EXPORTS),
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tfodkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from tfodkit.example import FeatureType, decode_example, encode_example, feature_type
    from tfodkit.formats import detect_format, format_names
    from tfodkit.inspection import (
        compute_stats,
        dataset_info,
        diff,
        diff_datasets,
        preview,
        repair,
        scan_records,
        validate,
    )
    from tfodkit.labelmap import format_label_map, parse_label_map, read_label_map, write_label_map
    from tfodkit.masks import Mask
    from tfodkit.model import Dataset, ImageRef, Item, Label, LabelMap, Objects
    from tfodkit.pipeline import ConvertReport, convert, read_dataset, write_dataset
    from tfodkit.records import (
        RecordWriter,
        count_records,
        detect_compression,
        expand_sources,
        find_shards,
        read_records,
        record_offsets,
        shard_names,
        write_record,
    )
    from tfodkit.transforms import (
        TransformChain,
        apply_transforms,
        boxes_to_masks,
        filter_labels,
        get_transform,
        masks_to_polygons,
        merge_instance_parts,
        polygons_to_masks,
        remap_labels,
        retarget_labels,
        shapes_to_boxes,
        transform_names,
    )
