"""label_map.pbtxt against the protobuf installed beside TensorFlow and against Datumaro's reader (CVAT's importer)."""

from __future__ import annotations

import pytest

from tfodkit.labelmap import format_label_map
from tfodkit.model import Label, LabelMap

pytestmark = pytest.mark.interop

pytest.importorskip("tensorflow")  # the protobuf under test is the one installed with TensorFlow
datumaro = pytest.importorskip("datumaro")

from datumaro.plugins.data_formats.tf_detection_api.base import TfDetectionApiBase  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format  # noqa: E402


def _label_map_class():  # type: ignore[no-untyped-def]
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="interop/label_map.proto", package="interop", syntax="proto2")
    item = file.message_type.add(name="StringIntLabelMapItem")
    item.field.add(name="name", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    item.field.add(name="id", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    item.field.add(name="display_name", number=3, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    label_map = file.message_type.add(name="StringIntLabelMap")
    label_map.field.add(
        name="item",
        number=1,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_REPEATED,
        type_name=".interop.StringIntLabelMapItem",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("interop.StringIntLabelMap"))


# an empty name is refused
NAMES = ["car", "it's", 'say "hi"', "back\\slash", "line\nbreak", "\x00\x1f\x7f", "\u2028", "自行车", "😀"]


def test_tensorflow_pinned_protobuf_reads_what_we_write() -> None:
    label_map = LabelMap(Label(index * 2 + 1, name, name.upper() or None) for index, name in enumerate(NAMES))
    message = text_format.Parse(format_label_map(label_map), _label_map_class()())
    assert [(item.id, item.name, item.display_name) for item in message.item] == [
        (label.id, label.name, label.display_name or "") for label in label_map
    ]


def test_datumaro_reads_our_label_maps_of_plain_names() -> None:
    # Datumaro's regex reader (what CVAT's TFRecord importer runs) needs exactly `id` and `name` per item and
    # stops a name at the first quote: plain names, gaps in ids and UTF-8 must come through unchanged.
    label_map = LabelMap([Label(1, "car"), Label(3, "traffic light"), Label(4, "自行车"), Label(10, "a-b_c.d")])
    parsed = TfDetectionApiBase._parse_labelmap(format_label_map(label_map))
    assert parsed == {label.name: label.id for label in label_map}
