"""The TF OD API's create_pascal_tf_record.py, re-implemented on TensorFlow 2 (tf.train, tf.io).

Read from the tensorflow/models source, not copied: the XML parsed into a dict as ``recursive_parse_xml_to_dict``
does, the image list from ``ImageSets/Main/aeroplane_<set>.txt``, the image read from
``<folder>/JPEGImages/<filename>``, boxes divided by the XML's width/height, records written with
``tf.io.TFRecordWriter``. Used by bench/bench_voc.py (the reference's speed) and
tests/interop/test_pascal_reference.py (tfodkit's records must hold the same values). Needs TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import os

import tensorflow as tf
from lxml import etree
from PIL import Image


def xml_to_dict(element):
    # recursive_parse_xml_to_dict: leaves become their text; <object> is the only repeated tag, kept as a list.
    if not len(element):
        return {element.tag: element.text}
    result = {}
    for child in element:
        value = xml_to_dict(child)[child.tag]
        if child.tag == "object":
            result.setdefault("object", []).append(value)
        else:
            result[child.tag] = value
    return {element.tag: result}


def _int64s(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def reference_example(data, dataset_directory, label_map_dict, ignore_difficult_instances=False):
    full_path = os.path.join(dataset_directory, data["folder"], "JPEGImages", data["filename"])
    with tf.io.gfile.GFile(full_path, "rb") as stream:
        encoded_jpg = stream.read()
    if Image.open(io.BytesIO(encoded_jpg)).format != "JPEG":
        raise ValueError("Image format not JPEG")
    key = hashlib.sha256(encoded_jpg).hexdigest()
    width = int(data["size"]["width"])
    height = int(data["size"]["height"])
    xmin, ymin, xmax, ymax, classes, classes_text, truncated, poses, difficult_obj = ([] for _ in range(9))
    for obj in data.get("object", []):
        difficult = bool(int(obj["difficult"]))
        if ignore_difficult_instances and difficult:
            continue
        difficult_obj.append(int(difficult))
        xmin.append(float(obj["bndbox"]["xmin"]) / width)
        ymin.append(float(obj["bndbox"]["ymin"]) / height)
        xmax.append(float(obj["bndbox"]["xmax"]) / width)
        ymax.append(float(obj["bndbox"]["ymax"]) / height)
        classes_text.append(obj["name"].encode("utf8"))
        classes.append(label_map_dict[obj["name"]])
        truncated.append(int(obj["truncated"]))
        poses.append(obj["pose"].encode("utf8"))
    feature = {
        "image/height": _int64s([height]),
        "image/width": _int64s([width]),
        "image/filename": _bytes([data["filename"].encode("utf8")]),
        "image/source_id": _bytes([data["filename"].encode("utf8")]),
        "image/key/sha256": _bytes([key.encode("utf8")]),
        "image/encoded": _bytes([encoded_jpg]),
        "image/format": _bytes([b"jpeg"]),
        "image/object/bbox/xmin": _floats(xmin),
        "image/object/bbox/xmax": _floats(xmax),
        "image/object/bbox/ymin": _floats(ymin),
        "image/object/bbox/ymax": _floats(ymax),
        "image/object/class/text": _bytes(classes_text),
        "image/object/class/label": _int64s(classes),
        "image/object/difficult": _int64s(difficult_obj),
        "image/object/truncated": _int64s(truncated),
        "image/object/view": _bytes(poses),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def reference_records(data_dir, year, image_set, label_map_dict, output_path, ignore_difficult=False):
    """The script's main(): years, the aeroplane_<set>.txt list, one record per listed image."""
    years = ["VOC2007", "VOC2012"] if year == "merged" else [year]
    with tf.io.TFRecordWriter(str(output_path)) as writer:
        for one_year in years:
            listing = os.path.join(data_dir, one_year, "ImageSets", "Main", f"aeroplane_{image_set}.txt")
            with tf.io.gfile.GFile(listing) as stream:
                ids = [line.strip().split(" ")[0] for line in stream.readlines()]
            for example_id in ids:
                path = os.path.join(data_dir, one_year, "Annotations", example_id + ".xml")
                with tf.io.gfile.GFile(path, "r") as stream:
                    data = xml_to_dict(etree.fromstring(stream.read()))["annotation"]
                writer.write(reference_example(data, data_dir, label_map_dict, ignore_difficult).SerializeToString())
