"""Fuzz the CVAT for images 1.1 XML reader (streaming iterparse), and write what it reads back.

Per input: the bytes (after a mode byte) are ``annotations.xml``. Reading and iterating every item (lazy
parts forced) must give items or a ``TfodError``. With the mode byte's low bit set, the items read are
written as CVAT XML again and read back: the same items and boxes must come out.
"""

from __future__ import annotations

import os

import numpy as np
from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.formats import cvat_xml
    from tfodkit.model import Dataset

DICTIONARIES = ["xml", "cvat_xml"]
_SCRATCH: list[str] = []


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, document = data[0], data[1:]
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
    path = os.path.join(_SCRATCH[0], "annotations.xml")
    with open(path, "wb") as out:
        out.write(document)
    dataset = cvat_xml.read(path)
    items = []
    for item in dataset:
        touch_item(item)
        items.append(item)
    if not mode & 1:
        return
    target = os.path.join(_SCRATCH[0], "written")
    cvat_xml.write(Dataset(items, dataset.label_map), target)
    again = list(cvat_xml.read(os.path.join(target, "annotations.xml")))
    if [item.id for item in again] != [item.id for item in items]:
        raise AssertionError("items changed when written back")
    for before, after in zip(items, again, strict=True):
        if len(after.objects) != len(before.objects) or not np.allclose(
            after.objects.boxes, before.objects.boxes, rtol=1e-9, atol=1e-9
        ):
            raise AssertionError(f"objects of {before.id!r} changed when written back")


def seeds() -> list[bytes]:
    document = b"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>t</name><size>2</size><mode>annotation</mode><subset>train</subset>
    <labels><label><name>car</name><type>rectangle</type><attributes><attribute><name>color</name>
    <input_type>select</input_type><values>red\nblue</values></attribute></attributes></label>
    <label><name>person</name></label><label><name>head</name><parent>person</parent></label></labels>
  </task></meta>
  <image id="0" name="a.jpg" width="8" height="6" subset="val">
    <box label="car" occluded="1" source="manual" xtl="1" ytl="1.5" xbr="4" ybr="3" z_order="2" group_id="1"
         rotation="10">
      <attribute name="color">red</attribute><attribute name="difficult">true</attribute></box>
    <polygon label="person" occluded="0" points="1,1;4,1;4,3.5" z_order="0"/>
    <polyline label="car" points="0,0;1,1"/><tag label="car"/>
  </image>
  <image id="1" name="sub/b.png" width="4" height="4"/>
  <track id="0" label="car">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="2" ybr="2"/></track>
</annotations>
"""
    tiny = b"<annotations><image name='x' width='1' height='1'/></annotations>"
    return [b"\x00" + document, b"\x01" + document, b"\x00" + tiny]


if __name__ == "__main__":
    fuzz_main(test_one_input)
