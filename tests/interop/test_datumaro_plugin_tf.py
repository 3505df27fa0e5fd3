"""tfodkit's Datumaro plugin, checked by TensorFlow: the records ``dataset.export(…, "tf_detection_api")`` writes
through ``tfodkit.datumaro`` decode with ``tf.io.parse_single_example`` over the OD API keys to the values given.

The export runs in a child process: importing tfodkit.datumaro replaces Datumaro's own TensorFlow plugin for the
whole process, and the other interop tests here compare against that one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.interop

tf = pytest.importorskip("tensorflow")
pytest.importorskip("datumaro")

ROOT = Path(__file__).resolve().parents[2]

EXPORT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tfodkit.datumaro
    from datumaro.components.annotation import Bbox, Mask
    from datumaro.components.dataset import Dataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image
    from datumaro.util.image import encode_image

    pixels = (np.arange(6 * 8 * 3) % 251).reshape(6, 8, 3).astype(np.uint8)
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:3, 2:5] = True
    dataset = Dataset.from_iterable(
        [DatasetItem("img", subset="train", media=Image.from_bytes(data=encode_image(pixels, ".png")),
                     annotations=[Bbox(1, 2, 3, 2, label=1), Mask(image=mask, label=0)],
                     attributes={"source_id": "42"})],
        categories=["cat", "собака"],
    )
    dataset.export(sys.argv[1], "tf_detection_api", save_media=True, save_masks=True)
    """
)


def test_plugin_records_decode_with_tensorflow(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", EXPORT, str(tmp_path)], check=True, env=env, timeout=300)
    from test_scale_interop import load_recipe  # the tf.data recipe's feature spec: the keys every record has

    features = {**load_recipe().FEATURES, "image/object/mask": tf.io.VarLenFeature(tf.string)}
    [record] = list(tf.data.TFRecordDataset(str(tmp_path / "train.tfrecord")))
    parsed = tf.io.parse_single_example(record, features)

    def dense(key: str) -> list:
        return tf.sparse.to_dense(parsed[key]).numpy().tolist()

    assert parsed["image/filename"].numpy() == b"img.png"
    assert parsed["image/source_id"].numpy() == b"42"
    assert (parsed["image/height"].numpy(), parsed["image/width"].numpy()) == (6, 8)
    assert parsed["image/format"].numpy() == b"png"
    image = tf.io.decode_png(parsed["image/encoded"]).numpy()
    assert image.shape == (6, 8, 3)
    assert np.allclose(dense("image/object/bbox/xmin"), [1 / 8, 2 / 8])
    assert np.allclose(dense("image/object/bbox/xmax"), [4 / 8, 5 / 8])
    assert np.allclose(dense("image/object/bbox/ymin"), [2 / 6, 1 / 6])
    assert np.allclose(dense("image/object/bbox/ymax"), [4 / 6, 3 / 6])
    assert dense("image/object/class/label") == [2, 1]
    assert [text.decode("utf-8") for text in dense("image/object/class/text")] == ["собака", "cat"]
    masks = [tf.io.decode_png(png).numpy()[..., 0] for png in dense("image/object/mask")]
    assert masks[0].shape == (6, 8) and not masks[0].any()  # the box has no mask: an empty one, as the OD API needs
    assert masks[1].astype(bool).sum() == 6 and masks[1][1:3, 2:5].all()
