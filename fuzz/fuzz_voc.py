"""Fuzz the Pascal VOC annotation reader (and write it back).

Per input: the bytes are one ``Annotations/<id>.xml``; the first byte picks strict labels (a given label
map: unknown names are errors) or open ones, and ``ignore_difficult``. ``parse_annotation`` must give an
item or a ``TfodError``; an item it gives must write back (``annotation_xml``) and read again with the same
labels and boxes. Entities are never expanded (XXE, billion laughs) — see tests/test_xml_hardening.py.
"""

from __future__ import annotations

import os

import numpy as np
from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.formats.voc import annotation_xml, parse_annotation
    from tfodkit.model import LabelMap

DICTIONARIES = ["xml", "voc"]  # token lists in fuzz/dicts/ for libFuzzer's -dict
_SCRATCH: list[str] = []


def _write(name: str, data: bytes) -> str:
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
    path = os.path.join(_SCRATCH[0], name)
    with open(path, "wb") as out:
        out.write(data)
    return path


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, xml = data[0], data[1:]
    strict = bool(mode & 1)
    labels = LabelMap.from_names(["cat", "dog"]) if strict or mode & 4 else LabelMap()
    images_dir = _SCRATCH[0] if _SCRATCH else "."
    path = _write("input.xml", xml)
    item = parse_annotation(path, labels, item_id="000001", images_dir=images_dir, strict_labels=strict,
                            ignore_difficult=bool(mode & 2))
    touch_item(item)
    written = annotation_xml(item, labels, folder="VOC", filename=item.image.name)
    again = parse_annotation(_write("again.xml", written), labels.copy(), item_id="000001", images_dir=images_dir,
                             strict_labels=True)
    if again.objects.label_ids.tolist() != item.objects.label_ids.tolist():
        raise AssertionError("labels changed when written back")
    if not np.allclose(again.objects.boxes, item.objects.boxes, rtol=1e-6, atol=1e-3, equal_nan=True):
        raise AssertionError(f"boxes changed when written back: {item.objects.boxes} -> {again.objects.boxes}")


def seeds() -> list[bytes]:
    full = b"""<annotation>
  <folder>VOC2007</folder><filename>000001.jpg</filename>
  <size><width>353</width><height>500</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object><name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object>
  <object><name>cat</name><pose>Unspecified</pose><truncated>0</truncated><difficult>1</difficult><occluded>1</occluded>
    <bndbox><xmin>8.5</xmin><ymin>12</ymin><xmax>352</xmax><ymax>498</ymax></bndbox>
    <attributes><attribute><name>is_crowd</name><value>true</value></attribute>
      <attribute><name>area</name><value>12.5</value></attribute><attribute><name>z_order</name><value>2</value></attribute>
      <attribute><name>color</name><value>red</value></attribute></attributes></object>
</annotation>
"""
    empty = b"<annotation><filename>a.png</filename><size><width>4</width><height>3</height></size></annotation>"
    entity = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "cat">]><annotation><size><width>4</width>' \
             b"<height>3</height></size><object><name>&e;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>" \
             b"<ymax>2</ymax></bndbox></object></annotation>"
    return [bytes([mode]) + body for mode in (0, 1, 2, 4) for body in (full, empty)] + [b"\x00" + entity]


if __name__ == "__main__":
    fuzz_main(test_one_input)
