"""Fuzz the COCO instances reader.

Per input: the bytes (after a mode byte) are ``annotations/instances_default.json``; the mode byte turns
``include_masks`` on (polygons and RLE rasterized) and remaps labels through a given label map. Reading and
iterating every item (lazy parts forced) must give items or a ``TfodError``.
"""

from __future__ import annotations

import json
import os

from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.formats.coco import read
    from tfodkit.model import LabelMap

DICTIONARIES = ["json", "coco"]
MAX_MASK_PIXELS = 1 << 22  # masks cost H*W bytes each by design: the harness keeps declared sizes small
_SCRATCH: list[str] = []


def _declares_huge_images(document: bytes) -> bool:
    """Masks cost H*W bytes each by design: inputs declaring huge images are not the parser's problem."""
    try:
        parsed = json.loads(document)
        return any(float(image.get("width", 0)) * float(image.get("height", 0)) > MAX_MASK_PIXELS
                   for image in parsed.get("images", []))
    except Exception:  # not the harness's business: the reader judges the document
        return False


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, document = data[0], data[1:]
    include_masks = bool(mode & 1)
    if include_masks and _declares_huge_images(document):
        return
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
        os.makedirs(os.path.join(_SCRATCH[0], "annotations"))
    path = os.path.join(_SCRATCH[0], "annotations", "instances_default.json")
    with open(path, "wb") as out:
        out.write(document)
    label_map = LabelMap.from_names(["person", "car"]) if mode & 2 else None
    for item in read(_SCRATCH[0], include_masks=include_masks, label_map=label_map):
        touch_item(item)


def seeds() -> list[bytes]:
    document = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 8, "height": 6},
            {"id": "x", "file_name": "sub/b.png", "width": 4, "height": 4},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 2], "area": 6, "iscrowd": 0,
             "segmentation": [[1, 1, 4, 1, 4, 3]], "attributes": {"occluded": True}},
            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [0, 0, 8, 6], "iscrowd": 1,
             "segmentation": {"size": [6, 8], "counts": [5, 10, 33]}},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 0, 1]},
            {"id": 4, "image_id": "x", "category_id": 3, "bbox": [0.5, 0.5, 2, 2],
             "segmentation": {"size": [4, 4], "counts": "04L4"}},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car", "supercategory": "vehicle"}],
    }
    body = json.dumps(document).encode()
    return [bytes([mode]) + body for mode in range(4)] + [b"\x00{\"images\": []}"]


if __name__ == "__main__":
    fuzz_main(test_one_input)
