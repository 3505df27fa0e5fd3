"""PNG encoding of sparse 0/1 instance masks: Pillow settings side by side, to pick tfodkit's defaults.

Masks are realistic COCO-like instances on 640x480 images: one object per mask, made of 1-2 random
star-shaped polygons covering 0.5-30 % of the image, rasterized with pycocotools. Table 1 gives, per mask
array, the encode time, the decode time (Pillow, what tfodkit's reader does), the mean PNG size, and ratios
to Pillow mode "L" level 1 (tfodkit's first setting). Table 2 times the whole per-object job of the writer's
workers: polygon -> PNG bytes. Times are CPU time (process_time), best of 3.

Run: .venv/bin/python bench/bench_png.py [--masks 300]
"""

from __future__ import annotations

import argparse
import io
import struct
import time
import zlib

import numpy as np
from PIL import Image

from tfodkit import model
from tfodkit.masks import png
from tfodkit.masks.png import encode_mask_png
from tfodkit.masks.raster import polygons_to_array, source_png

HEIGHT, WIDTH = 480, 640


def star_polygon(rng: np.random.Generator, radius: float) -> np.ndarray:
    points = int(rng.integers(8, 40))
    angles = np.sort(rng.uniform(0, 2 * np.pi, points))
    radii = radius * rng.uniform(0.5, 1.0, points)
    centre = rng.uniform([radius, radius], [WIDTH - radius, HEIGHT - radius])
    return np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)


def realistic_masks(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(count):
        radius = float(rng.uniform(20, 200))  # ~0.5 % .. ~30 % of the image
        parts = [star_polygon(rng, radius) for _ in range(int(rng.integers(1, 3)))]
        masks.append(polygons_to_array(parts, HEIGHT, WIDTH))
    return masks


def pillow_encoder(mode: str, level: int, optimize: bool = False):
    def encode(mask: np.ndarray) -> bytes:
        out = io.BytesIO()
        if mode == "1":
            image = Image.fromarray(mask)  # bool array -> mode "1"
        else:
            image = Image.fromarray(mask.astype(np.uint8), mode="L")
        image.save(out, format="PNG", compress_level=level, optimize=optimize)
        return out.getvalue()

    return encode


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_zlib_encoder(level: int):
    """For reference only: a hand-written 8-bit grey PNG, no row filters, one zlib stream."""

    def encode(mask: np.ndarray) -> bytes:
        rows = np.zeros((mask.shape[0], mask.shape[1] + 1), dtype=np.uint8)  # filter byte 0 + pixels
        rows[:, 1:] = mask
        header = struct.pack(">IIBBBBB", mask.shape[1], mask.shape[0], 8, 0, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + _chunk(b"IEND", b"")
        )

    return encode


def decode(png_bytes: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png_bytes)) as opened:
        return np.asarray(opened) != 0


def other_decoders() -> dict[str, object]:
    """TensorFlow's decode_png and OpenCV's imdecode (Datumaro's reader) when installed (.venv-interop)."""
    decoders: dict[str, object] = {}
    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        decoders["TF"] = lambda data: tf.io.decode_png(data).numpy()[:, :, 0] != 0
    except ImportError:
        pass
    try:
        import cv2

        decoders["cv2"] = lambda data: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) != 0
    except ImportError:
        pass
    return decoders


def with_zlib_strategy(strategy: int):
    """tfodkit.masks.png with another zlib strategy (to show why the default one was chosen)."""

    def encode(mask: np.ndarray) -> bytes:
        saved = png.ZLIB_STRATEGY
        png.ZLIB_STRATEGY = strategy
        png._zero_piece.cache_clear()
        try:
            return encode_mask_png(mask)
        finally:
            png.ZLIB_STRATEGY = saved
            png._zero_piece.cache_clear()

    return encode


def measure(encode, masks: list[np.ndarray], decoders: dict[str, object], repeat: int = 3) -> list[float]:
    """[encode ms, Pillow decode ms, other decoders' ms..., mean bytes]; every decoder must give the mask back."""
    best_encode = float("inf")
    pngs: list[bytes] = []
    for _ in range(repeat):
        start = time.process_time()  # CPU time: other load on a shared machine hits it less than wall time
        pngs = [encode(mask) for mask in masks]
        best_encode = min(best_encode, time.process_time() - start)
    timings = [best_encode / len(masks) * 1e3]
    for decoder in [decode, *decoders.values()]:
        best = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            decoded = [decoder(data) for data in pngs]
            best = min(best, time.process_time() - start)
        for mask, back in zip(masks, decoded, strict=True):
            assert np.array_equal(mask, back), "round trip changed a mask"
        timings.append(best / len(masks) * 1e3)
    return [*timings, sum(len(data) for data in pngs) / len(pngs)]


def realistic_polygons(count: int, seed: int = 0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    objects = []
    for _ in range(count):
        radius = float(rng.uniform(20, 200))
        objects.append([star_polygon(rng, radius) for _ in range(int(rng.integers(1, 3)))])
    return objects


def pycocotools_decode_then(encode):
    """The plain path: pycocotools decode to a full array (column-major), row-major copy, then ``encode``."""
    from pycocotools import mask as coco_mask

    def rasterize_and_encode(polygons: list[np.ndarray]) -> bytes:
        rles = coco_mask.frPyObjects([polygon.reshape(-1) for polygon in polygons], HEIGHT, WIDTH)
        rle = coco_mask.merge(rles) if len(rles) > 1 else rles[0]
        return encode(np.ascontiguousarray(coco_mask.decode(rle), dtype=bool))

    return rasterize_and_encode


def best_time(function, values, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for value in values:
            function(value)
        best = min(best, time.process_time() - start)
    return best / len(values) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--masks", type=int, default=300)
    arguments = parser.parse_args()
    masks = realistic_masks(arguments.masks)
    coverage = np.mean([mask.mean() for mask in masks]) * 100
    print(f"{len(masks)} masks of {WIDTH}x{HEIGHT}, mean foreground {coverage:.1f} %\n")

    print("1. Encoding a mask array (every decoder gives back the same pixels; times in ms per mask)")
    decoders = other_decoders()
    settings = [(f"Pillow L level {level}", pillow_encoder("L", level)) for level in (0, 1, 3, 6, 9)]
    settings += [("Pillow L level 9 optimize", pillow_encoder("L", 9, optimize=True))]
    settings += [(f"Pillow 1 level {level} (TF, cv2 give 0/255)", pillow_encoder("1", level)) for level in (1, 6)]
    settings += [(f"no filter + zlib level {level}", raw_zlib_encoder(level)) for level in (1, 6)]
    settings += [("tfodkit.masks.png + Z_RLE (not chosen)", with_zlib_strategy(zlib.Z_RLE))]
    settings += [("tfodkit.masks.png (chosen)", encode_mask_png)]
    rows = [(name, *measure(encode, masks, decoders)) for name, encode in settings]
    reference = rows[1]  # Pillow L level 1: tfodkit's previous setting
    decoder_names = ["Pillow", *decoders]
    header = " ".join(f"{'dec ' + name:>10}" for name in decoder_names)
    print(f"{'setting':38} {'encode':>8} {header} {'bytes':>8} {'enc x':>6} {'size x':>6}")
    for name, *values in rows:
        encode_ms, *decode_ms, size = values
        decoded = " ".join(f"{value:10.3f}" for value in decode_ms)
        print(
            f"{name:38} {encode_ms:8.3f} {decoded} {size:8.0f} {encode_ms / reference[1]:6.2f} "
            f"{size / reference[-1]:6.2f}"
        )

    print("\n2. From polygons to PNG (what the writer's workers do per object)")
    objects = realistic_polygons(arguments.masks, seed=1)
    paths = [
        ("pycocotools decode + Pillow L level 1", pycocotools_decode_then(pillow_encoder("L", 1))),
        ("pycocotools decode + tfodkit.masks.png", pycocotools_decode_then(encode_mask_png)),
        ("tfodkit: pycocotools RLE -> PNG rows", lambda polygons: source_png(("polygons", polygons, HEIGHT, WIDTH))),
    ]
    timings = [(name, best_time(function, objects)) for name, function in paths]
    for name, milliseconds in timings:
        print(f"{name:40} {milliseconds:10.3f} ms {timings[0][1] / milliseconds:6.1f}x")
    print(f"\nchosen: mode {model.PNG_MASK_MODE!r} via tfodkit.masks.png (mask PNGs from runs, 0/1 pixels)")


if __name__ == "__main__":
    main()
