"""Names and layout shared by the Datumaro importer and exporter (Datumaro's ``DetectionApiPath``, same values)."""

from __future__ import annotations

from enum import Enum, auto

FORMAT_NAME = "tf_detection_api"  # the name Datumaro's own TensorFlow plugin registers
RECORD_EXTENSION = ".tfrecord"
LABEL_MAP_FILE = "label_map.pbtxt"
IMAGES_DIR = "images"  # Datumaro's layout: <root>/annotations/*.tfrecord and <root>/images/
ANNOTATIONS_DIR = "annotations"
DEFAULT_IMAGE_EXT = ".jpg"


class TfrecordImporterType(Enum):
    """Datumaro's importer flavours; ``roboflow`` records may lack ``image/source_id`` (tfodkit reads both alike)."""

    default = auto()
    roboflow = auto()
