"""tfodkit: TF Object Detection API / CVAT "TFRecord 1.0" datasets without TensorFlow.

Everything public is re-exported here; other modules are private. Names are imported on first use, so
``import tfodkit`` stays cheap for a command that needs one piece.

Example:
    >>> import tfodkit
    >>> tfodkit.LabelMap.from_names(["car"]).id_of("car")
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfodkit._lazy import lazy_exports
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
        [
            "RecordWriter",
            "count_records",
            "detect_compression",
            "expand_sources",
            "find_shards",
            "read_records",
            "record_offsets",
            "shard_names",
            "write_record",
        ],
        "tfodkit.records",
    ),
    **dict.fromkeys(["FeatureType", "decode_example", "encode_example", "feature_type"], "tfodkit.example"),
    **dict.fromkeys(["format_label_map", "parse_label_map", "read_label_map", "write_label_map"], "tfodkit.labelmap"),
    # conversion
    **dict.fromkeys(["ConvertReport", "convert", "read_dataset", "write_dataset"], "tfodkit.pipeline"),
    **dict.fromkeys(["detect_format", "format_names"], "tfodkit.formats"),
    **dict.fromkeys(
        [
            "TransformChain",
            "apply_transforms",
            "boxes_to_masks",
            "get_transform",
            "masks_to_polygons",
            "merge_instance_parts",
            "polygons_to_masks",
            "shapes_to_boxes",
            "transform_names",
        ],
        "tfodkit.transforms",
    ),
    **dict.fromkeys(["filter_labels", "remap_labels", "retarget_labels"], "tfodkit.dataset_transforms"),
    # inspection
    # from the defining submodules: importing tfodkit.inspection stays cheap, and diff, preview, repair and validate
    # share their names with their submodules
    "compute_stats": "tfodkit.inspection.stats",
    "dataset_info": "tfodkit.inspection.info",
    **dict.fromkeys(["diff", "diff_datasets"], "tfodkit.inspection.diff"),
    "preview": "tfodkit.inspection.preview",
    "repair": "tfodkit.inspection.repair",
    "scan_records": "tfodkit.inspection.scan",
    "validate": "tfodkit.inspection.validate",
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


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


# For type checkers, linters and IDEs: the same names, imported eagerly. `name as name` marks each one as a
# deliberate re-export (PEP 484), which ruff and mypy read without needing a literal __all__. diff, preview, repair and
# validate come from their own modules: tfodkit.inspection has submodules of the same names.
if TYPE_CHECKING:
    from tfodkit.dataset_transforms import filter_labels as filter_labels
    from tfodkit.dataset_transforms import remap_labels as remap_labels
    from tfodkit.dataset_transforms import retarget_labels as retarget_labels
    from tfodkit.example import FeatureType as FeatureType
    from tfodkit.example import decode_example as decode_example
    from tfodkit.example import encode_example as encode_example
    from tfodkit.example import feature_type as feature_type
    from tfodkit.formats import detect_format as detect_format
    from tfodkit.formats import format_names as format_names
    from tfodkit.inspection.diff import diff as diff
    from tfodkit.inspection.diff import diff_datasets as diff_datasets
    from tfodkit.inspection.info import dataset_info as dataset_info
    from tfodkit.inspection.preview import preview as preview
    from tfodkit.inspection.repair import repair as repair
    from tfodkit.inspection.scan import scan_records as scan_records
    from tfodkit.inspection.stats import compute_stats as compute_stats
    from tfodkit.inspection.validate import validate as validate
    from tfodkit.labelmap import format_label_map as format_label_map
    from tfodkit.labelmap import parse_label_map as parse_label_map
    from tfodkit.labelmap import read_label_map as read_label_map
    from tfodkit.labelmap import write_label_map as write_label_map
    from tfodkit.masks import Mask as Mask
    from tfodkit.model import Dataset as Dataset
    from tfodkit.model import ImageRef as ImageRef
    from tfodkit.model import Item as Item
    from tfodkit.model import Label as Label
    from tfodkit.model import LabelMap as LabelMap
    from tfodkit.model import Objects as Objects
    from tfodkit.pipeline import ConvertReport as ConvertReport
    from tfodkit.pipeline import convert as convert
    from tfodkit.pipeline import read_dataset as read_dataset
    from tfodkit.pipeline import write_dataset as write_dataset
    from tfodkit.records import RecordWriter as RecordWriter
    from tfodkit.records import count_records as count_records
    from tfodkit.records import detect_compression as detect_compression
    from tfodkit.records import expand_sources as expand_sources
    from tfodkit.records import find_shards as find_shards
    from tfodkit.records import read_records as read_records
    from tfodkit.records import record_offsets as record_offsets
    from tfodkit.records import shard_names as shard_names
    from tfodkit.records import write_record as write_record
    from tfodkit.transforms import TransformChain as TransformChain
    from tfodkit.transforms import apply_transforms as apply_transforms
    from tfodkit.transforms import boxes_to_masks as boxes_to_masks
    from tfodkit.transforms import get_transform as get_transform
    from tfodkit.transforms import masks_to_polygons as masks_to_polygons
    from tfodkit.transforms import merge_instance_parts as merge_instance_parts
    from tfodkit.transforms import polygons_to_masks as polygons_to_masks
    from tfodkit.transforms import shapes_to_boxes as shapes_to_boxes
    from tfodkit.transforms import transform_names as transform_names
