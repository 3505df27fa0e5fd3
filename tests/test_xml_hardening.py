"""The XML readers (VOC, CVAT) never resolve external entities (XXE), never load DTDs or XIncludes, never
touch the network, and never expand entity bombs (billion laughs, quadratic blow-up).

Each attack names a local file holding a unique marker: if any reader resolved it, the marker would show up
in the item (a label, a file name) — the tests look for it everywhere in what was read. The outcome must be a
``FormatError`` naming the file, or an item without the marker and without the expansion.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from tfodkit.errors import FormatError
from tfodkit.formats import cvat_xml, voc

MARKER = "TOPSECRET-7f3a"
LAUGHS = "".join(
    [f'<!ENTITY lol0 "{"lol" * 10}">']
    + [f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)]
)  # &lol9; is 3 * 10**10 bytes expanded
QUADRATIC = f'<!ENTITY big "{"x" * 50_000}">'  # referenced 50,000 times: 2.5 GB expanded


def attacks(secret: Path, dtd: Path) -> dict[str, tuple[str, str]]:
    """name -> (DOCTYPE, the text that goes where a value is read)."""
    return {
        "external entity (XXE)": (f'<!DOCTYPE root [<!ENTITY secret SYSTEM "file://{secret}">]>', "&secret;"),
        "external entity over the network": (
            '<!DOCTYPE root [<!ENTITY secret SYSTEM "http://127.0.0.1:9/x">]>',
            "&secret;",
        ),
        "external DTD": (f'<!DOCTYPE root SYSTEM "file://{dtd}">', "&secret;"),
        "parameter entity": (f'<!DOCTYPE root [<!ENTITY % remote SYSTEM "file://{dtd}"> %remote;]>', "&secret;"),
        "billion laughs": (f"<!DOCTYPE root [{LAUGHS}]>", "&lol9;"),
        "quadratic blow-up": (f"<!DOCTYPE root [{QUADRATIC}]>", "&big;" * 50_000),
        "XInclude": (
            "",
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret}" parse="text"/>',
        ),
    }


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret SYSTEM "file://{secret}">')
    return secret, dtd


def everything_read(items: list[Any], label_names: list[str]) -> str:
    """All text a reader produced: label names, item ids, image names, attributes."""
    parts = list(label_names)
    for item in items:
        parts += [item.id, item.image.name, repr(item.attributes), repr(item.objects.attributes)]
    return "\n".join(parts)


def check_outcome(read: Any, where: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            items, names = read()
        except FormatError as error:
            assert error.path is not None and Path(error.path) == where
            assert MARKER not in str(error)
            return
    text = everything_read(items, names)
    assert MARKER not in text
    assert "lollollol" not in text
    assert "x" * 1000 not in text


@pytest.mark.parametrize("attack", list(attacks(Path("s"), Path("d"))))
@pytest.mark.parametrize("place", ["label", "filename"])
def test_voc_reader(tmp_path: Path, files: tuple[Path, Path], attack: str, place: str) -> None:
    doctype, value = attacks(*files)[attack]
    name, filename = (value, "a.jpg") if place == "label" else ("car", value)
    annotations = tmp_path / "voc" / "Annotations"
    annotations.mkdir(parents=True)
    xml = annotations / "000001.xml"
    xml.write_text(
        f'<?xml version="1.0"?>\n{doctype.replace("root", "annotation")}\n<annotation><filename>{filename}</filename>'
        "<size><width>4</width><height>4</height></size><object><name>" + name + "</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>\n"
    )

    def read() -> tuple[list[Any], list[str]]:
        dataset = voc.read(str(tmp_path / "voc"))
        return list(dataset), dataset.label_map.names

    check_outcome(read, xml)


@pytest.mark.parametrize("attack", list(attacks(Path("s"), Path("d"))))
@pytest.mark.parametrize("place", ["label", "attribute value", "meta label"])
def test_cvat_xml_reader(tmp_path: Path, files: tuple[Path, Path], attack: str, place: str) -> None:
    doctype, value = attacks(*files)[attack]
    box_label, attribute, meta_label = "car", "red", "car"
    if place == "label":
        box_label = value
    elif place == "attribute value":
        attribute = value
    else:
        meta_label = value
    xml = tmp_path / "annotations.xml"
    quoted_label = box_label.replace('"', "&quot;") if "<" not in box_label else "car"
    body = (
        f"<annotations><version>1.1</version><meta><task><labels><label><name>{meta_label}</name></label></labels>"
        f'</task></meta><image id="0" name="a.jpg" width="4" height="4"><box label="{quoted_label}" xtl="1" ytl="1" '
        f'xbr="2" ybr="2"><attribute name="color">{attribute}</attribute></box></image></annotations>\n'
    )
    xml.write_text(f'<?xml version="1.0"?>\n{doctype.replace("root", "annotations")}\n{body}')

    def read() -> tuple[list[Any], list[str]]:
        dataset = cvat_xml.read(str(xml))
        return list(dataset), dataset.label_map.names

    check_outcome(read, xml)


def test_cvat_xml_refuses_any_doctype(tmp_path: Path) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE annotations [<!ENTITY e "car">]>\n<annotations>'
        '<image id="0" name="a.jpg" width="4" height="4"><box label="car" xtl="1" ytl="1" xbr="2" ybr="2">'
        "<attribute name='color'>&e;</attribute></box></image></annotations>\n"
    )
    with pytest.raises(FormatError, match="DOCTYPE"):
        list(cvat_xml.read(str(xml)))


def test_voc_keeps_an_internal_entity_unexpanded(tmp_path: Path) -> None:
    """Even a harmless internal entity is not expanded: VOC files never use one, and expanding none is the rule."""
    annotations = tmp_path / "voc" / "Annotations"
    annotations.mkdir(parents=True)
    (annotations / "a.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE annotation [<!ENTITY e "dog">]>\n<annotation><size><width>4</width>'
        "<height>4</height></size><object><name>&e;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
        "<ymax>2</ymax></bndbox></object></annotation>\n"
    )
    with pytest.raises(FormatError) as caught:
        list(voc.read(str(tmp_path / "voc")))
    assert "dog" not in str(caught.value)


@pytest.mark.parametrize("attack", ["external entity (XXE)", "external DTD", "parameter entity", "XInclude"])
def test_the_attacks_are_real_an_unhardened_parser_leaks(files: tuple[Path, Path], attack: str) -> None:
    """Guard for the tests above: the same documents do leak the marker through a permissive lxml parser."""
    from lxml import etree

    doctype, value = attacks(*files)[attack]
    document = f'<?xml version="1.0"?>\n{doctype}\n<root><name>{value}</name></root>'.encode()
    parser = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    root = etree.fromstring(document, parser)
    if attack == "XInclude":
        root.getroottree().xinclude()
    assert MARKER in etree.tostring(root, encoding="unicode")
