"""The TF Object Detection API detection schema: the one table of its keys, and names for them.

:mod:`tfodkit.formats.tfod` reads and writes records by it; validate, stats and info derive what they check and
read from it.

Example:
    >>> SCHEMA_BY_KEY[CLASS_TEXT].kinds, SCHEMA_BY_KEY[CLASS_TEXT].per_object
    (('bytes',), True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tfodkit import model

# The one table of the detection keys: validate, stats and info derive what they check and read from it.
KIND_BYTES, KIND_FLOAT, KIND_INT64 = "bytes", "float", "int64"  # the three tf.train.Feature list kinds


@dataclass(frozen=True)
class SchemaKey:
    """One key of the OD API detection schema.

    ``column`` names what the key holds in tfodkit's model (``Item``/``Objects``); ``kinds`` the feature list
    kinds a valid record may use (the first is the one tfodkit writes); ``per_object`` whether it holds one
    value per object; ``writer`` who writes it (``"tfodkit"``: every record tfodkit writes; ``"if set"``: when
    the model has the column; ``"kept"``: never made, only carried through from an input record).
    """

    key: str
    column: str
    kinds: tuple[str, ...]
    per_object: bool
    writer: str


SCHEMA: tuple[SchemaKey, ...] = (
    # key, model column, feature kinds, per object, who writes it
    SchemaKey("image/filename", "image.name", (KIND_BYTES,), False, "tfodkit"),
    SchemaKey("image/source_id", "attributes['source_id']", (KIND_BYTES,), False, "tfodkit"),
    SchemaKey("image/height", "image.height", (KIND_INT64,), False, "tfodkit"),
    SchemaKey("image/width", "image.width", (KIND_INT64,), False, "tfodkit"),
    SchemaKey("image/encoded", "image bytes", (KIND_BYTES,), False, "tfodkit"),
    SchemaKey("image/format", "image format", (KIND_BYTES,), False, "tfodkit"),
    SchemaKey("image/key/sha256", "image sha256", (KIND_BYTES,), False, "tfodkit"),
    SchemaKey("image/object/bbox/xmin", "boxes[:, 0] / width", (KIND_FLOAT,), True, "tfodkit"),
    SchemaKey("image/object/bbox/xmax", "boxes[:, 2] / width", (KIND_FLOAT,), True, "tfodkit"),
    SchemaKey("image/object/bbox/ymin", "boxes[:, 1] / height", (KIND_FLOAT,), True, "tfodkit"),
    SchemaKey("image/object/bbox/ymax", "boxes[:, 3] / height", (KIND_FLOAT,), True, "tfodkit"),
    SchemaKey("image/object/class/label", "label_ids", (KIND_INT64,), True, "tfodkit"),
    SchemaKey("image/object/class/text", "label names", (KIND_BYTES,), True, "tfodkit"),
    # PNG per object, or NUMERICAL_MASKS: N*H*W floats in one list
    SchemaKey("image/object/mask", "masks", (KIND_BYTES, KIND_FLOAT), True, "if set"),
    SchemaKey("image/object/difficult", model.DIFFICULT, (KIND_INT64,), True, "if set"),
    SchemaKey("image/object/truncated", model.TRUNCATED, (KIND_INT64,), True, "if set"),
    SchemaKey("image/object/view", model.POSE, (KIND_BYTES,), True, "if set"),
    SchemaKey("image/object/is_crowd", model.IS_CROWD, (KIND_INT64,), True, "if set"),
    SchemaKey("image/object/area", model.AREA, (KIND_FLOAT,), True, "if set"),
    SchemaKey("image/object/group_of", model.GROUP_OF, (KIND_INT64,), True, "if set"),
    SchemaKey("image/object/weight", model.WEIGHT, (KIND_FLOAT,), True, "if set"),
    # Keypoints as create_coco_tf_record.py writes them and tf_example_decoder reads them: x, y (normalized),
    # visibility and text are K values per object, flattened over the objects; num is per object (its labeled points).
    SchemaKey("image/object/keypoint/x", "attributes['keypoints'][:, 0] / width", (KIND_FLOAT,), False, "if set"),
    SchemaKey("image/object/keypoint/y", "attributes['keypoints'][:, 1] / height", (KIND_FLOAT,), False, "if set"),
    SchemaKey("image/object/keypoint/visibility", "attributes['keypoints'][:, 2]", (KIND_INT64,), False, "if set"),
    SchemaKey("image/object/keypoint/num", "labeled keypoints per object", (KIND_INT64,), True, "if set"),
    SchemaKey("image/object/keypoint/text", "label keypoint names", (KIND_BYTES,), False, "if set"),
)
SCHEMA_BY_KEY: dict[str, SchemaKey] = {entry.key: entry for entry in SCHEMA}


def keys_of_kind(keys: Iterable[str], kind: str) -> tuple[str, ...]:
    """The ``keys`` whose schema kind (the one tfodkit writes) is ``kind``, in the given order.

    Example:
        >>> keys_of_kind(["image/width", "image/object/bbox/xmin", "image/filename"], "int64")
        ('image/width',)
    """
    return tuple(key for key in keys if SCHEMA_BY_KEY[key].kinds[0] == kind)


# ---------------------------------------------------------------------------------------------- keys
FILENAME = "image/filename"
SOURCE_ID = "image/source_id"
HEIGHT = "image/height"
WIDTH = "image/width"
ENCODED = "image/encoded"
FORMAT = "image/format"
SHA256 = "image/key/sha256"
XMIN = "image/object/bbox/xmin"
XMAX = "image/object/bbox/xmax"
YMIN = "image/object/bbox/ymin"
YMAX = "image/object/bbox/ymax"
CLASS_LABEL = "image/object/class/label"
CLASS_TEXT = "image/object/class/text"
MASK = "image/object/mask"
BOX_KEYS = (XMIN, YMIN, XMAX, YMAX)  # the order of a box row: xmin, ymin, xmax, ymax
KEYPOINT_X = "image/object/keypoint/x"
KEYPOINT_Y = "image/object/keypoint/y"
KEYPOINT_VISIBILITY = "image/object/keypoint/visibility"
KEYPOINT_NUM = "image/object/keypoint/num"
KEYPOINT_TEXT = "image/object/keypoint/text"
KEYPOINT_KEYS = (KEYPOINT_X, KEYPOINT_Y, KEYPOINT_VISIBILITY, KEYPOINT_NUM, KEYPOINT_TEXT)

# Per-object OD API extras <-> model attribute columns, with the value kind written.
OBJECT_EXTRAS: dict[str, tuple[str, str]] = {
    entry.key: (entry.column, entry.kinds[0])
    for entry in SCHEMA
    if entry.writer == "if set" and entry.key != MASK and entry.key not in KEYPOINT_KEYS
}
ITEM_KEYS = frozenset(entry.key for entry in SCHEMA if entry.writer == "tfodkit" and not entry.per_object)
OBJECT_KEYS = frozenset(entry.key for entry in SCHEMA if entry.per_object)
EXTRA_FEATURES = "tfrecord_features"  # item attribute holding the record keys tfodkit does not model
