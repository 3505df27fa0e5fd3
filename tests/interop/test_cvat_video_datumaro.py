"""CVAT for video 1.1: tfodkit's reading of tracks against the real Datumaro ``cvat`` importer on the same file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tfodkit.formats import cvat_xml

pytestmark = pytest.mark.interop

datumaro = pytest.importorskip("datumaro")

from datumaro.components.annotation import AnnotationType  # noqa: E402
from datumaro.components.dataset import Dataset as DatumaroDataset  # noqa: E402

LABELS = ["car", "person", "bike"]
FRAMES = 12


def _video_xml() -> str:
    """Tracks as CVAT's export writes them: every frame from a keyframe on (interpolated ones with keyframe="0"),
    an outside keyframe ending each visible run, some tracks reappearing; boxes, polygons and polylines."""
    rng = np.random.default_rng(5)
    tracks = []
    for track_id in range(8):
        tag = ["box", "polygon", "polyline"][track_id % 3]
        label = LABELS[int(rng.integers(len(LABELS)))]
        group = f' group_id="{track_id}"' if track_id % 4 == 3 else ""
        first = int(rng.integers(0, FRAMES - 3))
        outside = set(int(frame) for frame in rng.choice(range(first + 1, FRAMES), size=2, replace=False))
        shapes = []
        x, y = rng.uniform(0, 60, size=2)
        for frame in range(first, FRAMES):
            x, y = x + 1.25, y + 0.5
            hidden = frame in outside
            keyframe = int(frame == first or hidden or frame - 1 in outside)
            common = f'frame="{frame}" keyframe="{keyframe}" outside="{int(hidden)}" occluded="{frame % 2}"'
            if tag == "box":
                geometry = f'xtl="{x:.2f}" ytl="{y:.2f}" xbr="{x + 20:.2f}" ybr="{y + 15:.2f}"'
            else:
                points = [(x, y), (x + 18, y + 2), (x + 9, y + 14)]
                geometry = 'points="' + ";".join(f"{px:.2f},{py:.2f}" for px, py in points) + '"'
            shapes.append(
                f'    <{tag} {common} {geometry} z_order="{track_id % 3}">'
                f'<attribute name="speed">{frame}</attribute></{tag}>'
            )
        tracks.append(f'  <track id="{track_id}" label="{label}" source="manual"{group}>\n' + "\n".join(shapes))
        tracks[-1] += "\n  </track>"
    labels = "".join(
        f"<label><name>{name}</name><attributes><attribute><name>speed</name><mutable>True</mutable>"
        "<input_type>number</input_type><default_value>0</default_value><values>0\n100\n1</values>"
        "</attribute></attributes></label>"
        for name in LABELS
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta><task>'
        f"<id>1</id><name>video</name><size>{FRAMES}</size><mode>interpolation</mode><subset>default</subset>"
        f"<start_frame>0</start_frame><stop_frame>{FRAMES - 1}</stop_frame><frame_filter></frame_filter>"
        f"<labels>{labels}</labels><original_size><width>128</width><height>96</height></original_size>"
        "</task></meta>\n" + "\n".join(tracks) + "\n</annotations>\n"
    )


def _bounds(points: list[float]) -> list[float]:
    xs, ys = points[0::2], points[1::2]
    return [min(xs), min(ys), max(xs), max(ys)]


def test_tracks_read_as_datumaro_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "video"
    folder.mkdir()
    (folder / "annotations.xml").write_text(_video_xml(), encoding="utf-8")

    theirs = DatumaroDataset.import_from(str(folder), "cvat")
    names = [category.name for category in theirs.categories()[AnnotationType.label]]
    expected: dict[str, list[tuple[str, str, list[float], int, int]]] = {}
    for item in theirs:
        shown = [
            annotation
            for annotation in item.annotations
            if not annotation.attributes.get("outside")  # Datumaro keeps outside frames, flagged: not objects
        ]
        expected[item.id] = [
            (
                names[annotation.label],
                annotation.type.name,
                [round(value, 4) for value in _bounds(annotation.points)]
                if annotation.type != AnnotationType.bbox
                else [round(value, 4) for value in annotation.points],
                int(annotation.attributes["track_id"]),
                int(annotation.group or 0),
            )
            for annotation in shown
        ]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped: every shape of this file is read
        ours = list(cvat_xml.read(str(folder)))
    assert [item.id for item in ours] == [f"frame_{frame:06d}" for frame in range(FRAMES)]
    label_names = cvat_xml.read(str(folder)).label_map.names
    types = {None: "bbox", "polyline": "polyline"}
    got = {
        item.id: [
            (
                label_names[label_id - 1],
                types.get(shape, "bbox") if not polygons else ("polyline" if shape == "polyline" else "polygon"),
                [round(value, 4) for value in box],
                track_id,
                group,
            )
            for label_id, box, polygons, shape, track_id, group in zip(
                item.objects.label_ids.tolist(),
                item.objects.boxes.tolist(),
                item.objects.polygons,
                item.objects.attribute("shape"),
                item.objects.attribute("track_id"),
                item.objects.attribute("group"),
                strict=True,
            )
        ]
        for item in ours
    }
    assert sum(len(objects) for objects in got.values()) > 40  # the file holds enough to compare
    # Datumaro has items only for frames with annotations (outside ones included); tfodkit has every frame.
    assert {frame: objects for frame, objects in got.items() if objects} == {
        frame: objects for frame, objects in expected.items() if objects
    }
    assert set(expected) <= set(got)
