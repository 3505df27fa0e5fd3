"""Fuzz the YOLO reader, both layouts: the config (``data.yaml`` / ``obj.data``), the class names and a label file.

Per input: a mode byte (bit 0: darknet instead of Ultralytics), then up to three parts separated by
``\\n===\\n``: the config text, the label file of the one image, and (darknet) ``obj.names``. The image is a
real 5x4 PNG. Reading and iterating must give items or a ``TfodError``.

Configs naming absolute paths or ``..`` are skipped: YOLO configs may point anywhere on the disk by design
(``train: /data/images``), and walking the machine's whole file system is not a bug of the parser.
"""

from __future__ import annotations

import os
import shutil

from _common import fuzz_main, instrumented, only_typed_errors, running_under_atheris, scratch_dir, touch_item

with instrumented(running_under_atheris(__name__)):
    from tfodkit.formats import yolo

DICTIONARIES = ["yolo"]
SEPARATOR = b"\n===\n"
_SCRATCH: list[str] = []
# A 5x4 greyscale PNG.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000005000000040800000000a8d4d7fd0000000b49444154789c6360a00c0000001400"
    "01f5b9d8e70000000049454e44ae426082"
)


_SAFE_PATHS = (b"images/train", b"data/train.txt", b"data/obj.names", b"backup/")


def _leaves_the_folder(config: bytes) -> bool:
    """Any path separator, ``..`` or escape outside the seeds' own relative paths (a cheap, strict filter)."""
    for safe in _SAFE_PATHS:
        config = config.replace(safe, b"")
    return any(token in config for token in (b"/", b"\\", b"..", b"~"))


def _fresh_root() -> str:
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir())
    root = os.path.join(_SCRATCH[0], "dataset")
    shutil.rmtree(root, ignore_errors=True)
    return root


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


@only_typed_errors
def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0], data[1:]
    parts = body.split(SEPARATOR) + [b"", b""]
    config, labels, names = parts[0], parts[1], parts[2]
    if _leaves_the_folder(config):
        return
    root = _fresh_root()
    if mode & 1:
        _write(os.path.join(root, "obj.data"), config)
        _write(os.path.join(root, "obj.names"), names)
        _write(os.path.join(root, "train.txt"), b"data/obj_train_data/a.png\n")
        _write(os.path.join(root, "obj_train_data", "a.png"), _PNG)
        _write(os.path.join(root, "obj_train_data", "a.txt"), labels)
    else:
        _write(os.path.join(root, "data.yaml"), config)
        _write(os.path.join(root, "images", "train", "a.png"), _PNG)
        _write(os.path.join(root, "labels", "train", "a.txt"), labels)
    for item in yolo.read(root):
        touch_item(item)


def seeds() -> list[bytes]:
    labels = b"0 0.5 0.5 0.4 0.5\n1 0.1 0.1 0.2 0.2\n\n0 0.1 0.1 0.9 0.1 0.5 0.9\n"
    ultralytics = [
        b"path: .\ntrain: images/train\nnames:\n  0: car\n  1: person\n",
        b"train: [images/train]\nval: images/train\nnc: 2\nnames: ['car', 'person']\n",
    ]
    darknet = b"classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    seeds = [b"\x00" + config + SEPARATOR + labels for config in ultralytics]
    seeds.append(b"\x01" + darknet + SEPARATOR + labels + SEPARATOR + b"car\nperson\n")
    return seeds


if __name__ == "__main__":
    fuzz_main(test_one_input)
