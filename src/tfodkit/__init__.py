"""tfodkit: TF Object Detection API / CVAT "TFRecord 1.0" datasets without TensorFlow.

Everything public is re-exported here; other modules are private.
"""

from tfodkit.errors import (
    CorruptRecordError,
    ExampleDecodeError,
    FormatError,
    LabelMapError,
    TfodError,
    UnsafeArchiveError,
    UsageError,
)
from tfodkit.model import Dataset, ImageRef, Item, Label, LabelMap, Mask, Objects

__version__ = "0.1.0"

__all__ = [
    "CorruptRecordError",
    "Dataset",
    "ExampleDecodeError",
    "FormatError",
    "ImageRef",
    "Item",
    "Label",
    "LabelMap",
    "LabelMapError",
    "Mask",
    "Objects",
    "TfodError",
    "UnsafeArchiveError",
    "UsageError",
    "__version__",
]
