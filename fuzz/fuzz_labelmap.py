"""Fuzz the ``label_map.pbtxt`` parser.

Per input (bytes, so invalid UTF-8 is exercised too): ``parse_label_map`` gives a label map or a
``LabelMapError``; a label map it gives must write (``format_label_map``) and parse back equal.
"""

from __future__ import annotations

from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris

with instrumented(running_under_atheris(__name__)):
    from tfodkit.labelmap import format_label_map, parse_label_map


@only_typed_errors
def test_one_input(data: bytes) -> None:
    label_map = parse_label_map(data, path="fuzz.pbtxt")
    again = parse_label_map(format_label_map(label_map), path="rewritten.pbtxt")
    if list(again) != list(label_map):
        raise AssertionError(f"write + parse changed the label map: {list(label_map)} != {list(again)}")


def seeds() -> list[bytes]:
    """Label maps as the OD API, Datumaro, CVAT, Open Images and hand editing write them."""
    return [
        b"item {\n  id: 1\n  name: 'car'\n}\n\nitem {\n  id: 2\n  name: 'person'\n}\n",
        b'item { name: "/m/01g317" id: 1 display_name: "person" }\nitem: { id: 3, name: "bike"; }\n',
        b"# comment\nitem < id: 0 name: 'background' >\nitem { id: 5 name: 'a\\'b\\n\\x41\\101\\u00e9' }\n",
        b"item { id: 1 name: 'x' keypoints { id: 0 label: 'nose' } ancestor_ids: [2, 3] frequency: FREQUENT }\n",
        b"item { id: 2 name: person [ext.field] { a: -1.5e3 } }\n",
        "\ufeffitem { id: 1 name: '自行车' }".encode(),
        b"item { id: 1 name: 'a' 'b' }",
    ]


if __name__ == "__main__":
    fuzz_main(test_one_input)
