"""tfodkit imports and works with TensorFlow absent, and importing it pulls in no heavy module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import importlib.abc, json, os, sys

    class BlockTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError(f"{name} is blocked by the test")
            return None

    sys.meta_path.insert(0, BlockTensorFlow())
    try:
        import tensorflow  # noqa: F401
        raise SystemExit("the blocker did not block")
    except ImportError:
        pass

    import tfodkit
    after_import = sorted(sys.modules)
    from tfodkit.example import decode_example, encode_example
    from tfodkit.records import RecordWriter, read_records

    path = os.path.join(sys.argv[1], "a.tfrecord.gz")
    with RecordWriter(path, compression="gzip") as writer:
        writer.write(encode_example({"image/height": [480], "image/filename": ["a.jpg"], "x": [0.5]}))
    decoded = [decode_example(data) for data in read_records(path)]
    print(json.dumps({
        "modules": after_import,
        "modules_after_use": sorted(sys.modules),
        "height": int(decoded[0]["image/height"][0]),
        "filename": decoded[0]["image/filename"][0].decode(),
    }))
    """
)

HEAVY = ("tensorflow", "google.protobuf", "torch", "datumaro", "keras", "jax")


def test_import_and_use_without_tensorflow(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["height"] == 480
    assert report["filename"] == "a.jpg"
    for modules in (report["modules"], report["modules_after_use"]):
        loaded_heavy = [name for name in modules if name.split(".")[0] in HEAVY or name.startswith(HEAVY)]
        assert loaded_heavy == [], loaded_heavy
