"""Small deterministic sample datasets, made on the spot: for the demo, the tests and the benchmarks.

Example:
    >>> import tempfile
    >>> annotations = make_cvat_dataset(tempfile.mkdtemp(), images=3)
    >>> annotations.name
    'annotations.xml'
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

SAMPLE_LABELS = ("car", "person", "voiture rouge", "自行车", "it's", 'say "hi"')


def make_jpeg(width: int, height: int, seed: int, quality: int = 90) -> bytes:
    """A photo-like JPEG (smooth gradients, blobs and grain) of the given size; same seed, same bytes."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    columns = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    base_colour = rng.uniform(40, 200, size=3).astype(np.float32)
    pixels = np.empty((height, width, 3), dtype=np.float32)
    for channel in range(3):
        pixels[:, :, channel] = base_colour[channel] + 50 * np.sin(6 * rows + channel) * np.cos(5 * columns + seed)
    for _ in range(6):
        centre_y, centre_x = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.05, 0.25) * min(width, height)
        blob = ((np.arange(height)[:, None] - centre_y) ** 2 + (np.arange(width)[None, :] - centre_x) ** 2) < radius**2
        pixels[blob] = rng.uniform(0, 255, size=3)
    pixels += rng.normal(0, 12, size=pixels.shape)
    encoded = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").save(encoded, "JPEG", quality=quality)
    return encoded.getvalue()


def random_boxes(rng: np.random.Generator, width: int, height: int, count: int) -> np.ndarray:
    """``count`` boxes ``[xmin, ymin, xmax, ymax]`` inside the image, at least 4 px on a side."""
    corners = rng.uniform(0, 1, size=(count, 2)) * [width - 8, height - 8]
    sizes = rng.uniform(0.05, 0.5, size=(count, 2)) * [width, height]
    ends = np.minimum(corners + np.maximum(sizes, 4), [width, height])
    return np.round(np.concatenate([corners, ends], axis=1), 2)


def make_cvat_dataset(
    folder: str | Path,
    *,
    images: int = 6,
    labels: tuple[str, ...] = SAMPLE_LABELS,
    size: tuple[int, int] = (160, 120),
    boxes: tuple[int, int] = (1, 4),
    polygons: bool = True,
    quality: int = 90,
    seed: int = 0,
) -> Path:
    """Write a CVAT for images 1.1 dataset (``annotations.xml`` + ``images/``) and return the XML's path.

    Items alternate between subsets ``train`` and ``val``; each has boxes (with occluded, z_order and a free
    ``color`` attribute), between ``boxes[0]`` and ``boxes[1]`` of them, and one polygon (unless
    ``polygons`` is False); the last image has no objects (CVAT must still export it).
    """
    from lxml import etree

    root_folder = Path(folder)
    (root_folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    root = etree.Element("annotations")
    etree.SubElement(root, "version").text = "1.1"
    # A CVAT project export: labels in <project>, one task per subset (Datumaro reads subsets from <subset>).
    project = etree.SubElement(etree.SubElement(root, "meta"), "project")
    etree.SubElement(project, "name").text = "sample"
    label_list = etree.SubElement(project, "labels")
    tasks = etree.SubElement(project, "tasks")
    for subset in ("train", "val"):
        task = etree.SubElement(tasks, "task")
        etree.SubElement(task, "name").text = f"sample {subset}"
        etree.SubElement(task, "subset").text = subset
    for name in labels:
        label = etree.SubElement(label_list, "label")
        etree.SubElement(label, "name").text = name
        attribute = etree.SubElement(etree.SubElement(label, "attributes"), "attribute")
        for field_name, value in (
            ("name", "color"),
            ("mutable", "False"),
            ("input_type", "select"),
            ("default_value", "red"),
            ("values", "red\nblue"),
        ):
            etree.SubElement(attribute, field_name).text = value  # the full spec CVAT writes (Datumaro needs it)
    for index in range(images):
        name = f"frame_{index:06d}.jpg"
        (root_folder / "images" / name).write_bytes(make_jpeg(width, height, seed * 1000 + index, quality))
        image = etree.SubElement(
            root,
            "image",
            id=str(index),
            name=name,
            width=str(width),
            height=str(height),
            subset="train" if index % 2 == 0 else "val",
        )
        if index == images - 1:
            continue
        for box_index, box in enumerate(random_boxes(rng, width, height, int(rng.integers(boxes[0], boxes[1] + 1)))):
            element = etree.SubElement(
                image,
                "box",
                label=labels[int(rng.integers(len(labels)))],
                occluded=str(box_index % 2),
                xtl=f"{box[0]:.2f}",
                ytl=f"{box[1]:.2f}",
                xbr=f"{box[2]:.2f}",
                ybr=f"{box[3]:.2f}",
                z_order=str(box_index),
            )
            etree.SubElement(element, "attribute", name="color").text = ["red", "blue"][box_index % 2]
        if not polygons:
            continue
        centre_x, centre_y = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
        angles = np.linspace(0, 2 * np.pi, 7)[:-1]
        points = ";".join(
            f"{centre_x + 20 * np.cos(angle):.2f},{centre_y + 15 * np.sin(angle):.2f}" for angle in angles
        )
        etree.SubElement(image, "polygon", label=labels[0], occluded="0", points=points, z_order="0")
    annotations = root_folder / "annotations.xml"
    etree.ElementTree(root).write(str(annotations), encoding="utf-8", xml_declaration=True, pretty_print=True)
    return annotations
