"""Remote inputs and outputs through fsspec: the memory filesystem, and a real S3 protocol server on loopback.

The S3 tests run moto's server on 127.0.0.1 (port chosen by the OS) and s3fs pointed at it; they are skipped
where moto or s3fs is not installed (``make beam-test`` installs both into .venv-beam).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import fsspec
import pytest
from _cli import run

from tfodkit import imagesize, storage
from tfodkit.errors import FormatError, UsageError
from tfodkit.formats import coco, detect_format, tfod, voc, yolo
from tfodkit.index import RecordIndex, read_index
from tfodkit.model import Dataset, Item, LabelMap
from tfodkit.pipeline import convert
from tfodkit.records import read_records
from tfodkit.samples import make_jpeg
from tfodkit.storage import OutputSet, atomic_file, atomic_path


def local_records(dataset: Dataset, folder: Path, name: str, **options: object) -> dict[str, bytes]:
    """{file name: bytes} of the same dataset written to a local folder: the reference for remote output."""
    tfod.write(dataset, str(folder / name), **options)  # type: ignore[arg-type]
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def remote_files(url_folder: str) -> dict[str, bytes]:
    filesystem, inner = fsspec.core.url_to_fs(url_folder)
    return {name.rsplit("/", 1)[-1]: filesystem.cat_file(name) for name in sorted(filesystem.ls(inner, detail=False))}


# ------------------------------------------------------------------------------------------ memory://
@pytest.fixture
def memory_root() -> Iterator[str]:
    root = f"memory://tfodkit-test-{uuid.uuid4().hex[:8]}"
    yield root
    filesystem = fsspec.filesystem("memory")
    if filesystem.exists(root):
        filesystem.rm(root, recursive=True)


def test_records_written_to_memory_equal_local_ones(tmp_path: Path, dataset: Dataset, memory_root: str) -> None:
    expected = local_records(dataset, tmp_path / "local", "all.tfrecord", shards=3)
    tfod.write(dataset, f"{memory_root}/out/all.tfrecord", shards=3)
    assert remote_files(f"{memory_root}/out") == expected
    assert not list(Path(__import__("tempfile").gettempdir()).glob("tfodkit-upload-*/all*")), "staging left behind"


def test_memory_folder_output_and_every_way_to_read_it_back(tmp_path: Path, dataset: Dataset, memory_root: str) -> None:
    tfod.write(dataset, f"{memory_root}/out/")
    assert sorted(remote_files(f"{memory_root}/out")) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]
    wanted = sorted(item.id for item in dataset)
    for source in (f"{memory_root}/out", f"{memory_root}/out/*.tfrecord"):
        items = list(tfod.read(source))
        assert sorted(item.id for item in items) == wanted
        assert {item.subset for item in items} == {"train", "val"}
    read_back = tfod.read(f"{memory_root}/out/train.tfrecord")
    list(read_back)
    assert read_back.label_map == dataset.label_map  # found label_map.pbtxt beside the records


def test_sharded_base_name_url_reads_the_whole_set(dataset: Dataset, memory_root: str) -> None:
    tfod.write(dataset, f"{memory_root}/s/data.tfrecord", shards=2)
    assert sorted(item.id for item in tfod.read(f"{memory_root}/s/data.tfrecord")) == sorted(
        item.id for item in dataset
    )


def test_a_failed_remote_write_uploads_nothing(dataset: Dataset, memory_root: str) -> None:
    def items() -> Iterator[object]:
        yield from list(dataset)[:2]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        tfod.write(Dataset(items, dataset.label_map), f"{memory_root}/out/all.tfrecord", shards=2)  # type: ignore[arg-type]
    assert not fsspec.filesystem("memory").exists(f"{memory_root}/out/all-00000-of-00002.tfrecord")


def test_atomic_file_and_path_upload_only_on_success(memory_root: str) -> None:
    with atomic_file(f"{memory_root}/one.bin") as out:
        out.write(b"done")
    with pytest.raises(KeyError), atomic_file(f"{memory_root}/two.bin") as out:
        out.write(b"half")
        raise KeyError("stop")
    with atomic_path(f"{memory_root}/folder") as temp:
        (temp / "sub").mkdir(parents=True)
        (temp / "sub" / "a.txt").write_text("a")
    files = fsspec.filesystem("memory")
    assert files.cat_file(f"{memory_root}/one.bin") == b"done"
    assert not files.exists(f"{memory_root}/two.bin")
    assert files.cat_file(f"{memory_root}/folder/sub/a.txt") == b"a"


def test_output_set_renames_remote_targets(memory_root: str) -> None:
    with OutputSet() as outputs:
        outputs.temp_path_for(f"{memory_root}/x.part").write_bytes(b"x")
        outputs.rename_target(f"{memory_root}/x.part", f"{memory_root}/x-00000-of-00001.tfrecord")
    assert remote_files(memory_root) == {"x-00000-of-00001.tfrecord": b"x"}


def test_cli_convert_from_and_to_urls(tmp_path: Path, dataset: Dataset, memory_root: str) -> None:
    tfod.write(dataset, f"{memory_root}/in/data.tfrecord")
    assert (
        run(
            "convert",
            f"{memory_root}/in/data.tfrecord",
            f"{memory_root}/out/data.tfrecord",
            "--from",
            "tfrecord",
            "--to",
            "tfrecord",
            "--shard-size",
            "4000",
            "--workers",
            "1",
            "-q",
        )
        == 0
    )
    written = remote_files(f"{memory_root}/out")
    shard_names = sorted(name for name in written if name.endswith(".tfrecord"))
    assert len(shard_names) >= 2 and all(name.endswith(f"-of-{len(shard_names):05d}.tfrecord") for name in shard_names)
    records_in = list(read_records(f"{memory_root}/in/data.tfrecord"))
    records_out = [record for name in shard_names for record in read_records(f"{memory_root}/out/{name}")]
    assert records_out == records_in  # shard_size keeps item order


def test_cvat_xml_and_its_images_from_a_url_give_the_local_records(tmp_path: Path, memory_root: str) -> None:
    from tfodkit.samples import make_cvat_dataset

    xml = make_cvat_dataset(tmp_path / "cvat", images=4)
    fsspec.filesystem("memory").put(str(tmp_path / "cvat"), f"{memory_root}/task", recursive=True)
    options = {"save_images": True}
    convert(str(xml), str(tmp_path / "local.tfrecord"), from_format="cvat", to_format="tfrecord", write_options=options)
    convert(
        f"{memory_root}/task/annotations.xml",
        f"{memory_root}/out/remote.tfrecord",
        from_format="cvat",
        to_format="tfrecord",
        write_options=options,
    )
    assert list(read_records(f"{memory_root}/out/remote.tfrecord")) == list(
        read_records(str(tmp_path / "local.tfrecord"))
    )


def test_folder_writers_upload_through_atomic_path(tmp_path: Path, dataset: Dataset, memory_root: str) -> None:
    from tfodkit.pipeline import write_dataset

    write_dataset(dataset, str(tmp_path / "voc"), "voc")
    write_dataset(dataset, f"{memory_root}/voc", "voc")
    local = sorted(str(path.relative_to(tmp_path / "voc")) for path in (tmp_path / "voc").rglob("*") if path.is_file())
    files = fsspec.filesystem("memory")
    remote = sorted(name.split("/voc/", 1)[1] for name in files.find(f"{memory_root}/voc"))
    assert remote == local
    for name in local:
        assert files.cat_file(f"{memory_root}/voc/{name}") == (tmp_path / "voc" / name).read_bytes()


@pytest.mark.parametrize("to_format", ["coco", "voc", "yolo", "cvat"])
def test_every_folder_format_writes_to_a_url_as_locally(tmp_path: Path, memory_root: str, to_format: str) -> None:
    from tfodkit.samples import make_cvat_dataset

    xml = make_cvat_dataset(tmp_path / "cvat", images=4)
    options = {"save_images": True}
    local_out = tmp_path / "out"  # same folder name: VOC writes it into every annotation
    convert(str(xml), str(local_out), from_format="cvat", to_format=to_format, write_options=options)
    convert(str(xml), f"{memory_root}/out", from_format="cvat", to_format=to_format, write_options=options)
    local = {str(path.relative_to(local_out)): path.read_bytes() for path in local_out.rglob("*") if path.is_file()}
    files = fsspec.filesystem("memory")
    remote = {name.split("/out/", 1)[1]: files.cat_file(name) for name in files.find(f"{memory_root}/out")}
    assert remote == local


def test_cvat_xml_folder_and_zip_urls_read_as_locally(tmp_path: Path, memory_root: str) -> None:
    from tfodkit.formats import cvat_xml
    from tfodkit.samples import make_cvat_dataset

    make_cvat_dataset(tmp_path / "cvat", images=4)
    cvat_xml.write(cvat_xml.read(str(tmp_path / "cvat")), str(tmp_path / "task.zip"), save_images=True)
    folder_url = upload(tmp_path / "cvat", f"{memory_root}/cvat")
    zip_url = f"{memory_root}/task.zip"
    fsspec.filesystem("memory").put(str(tmp_path / "task.zip"), zip_url)
    assert_same_read(cvat_xml.read(str(tmp_path / "cvat")), cvat_xml.read(folder_url), folder_url)
    from_zip = list(cvat_xml.read(zip_url))
    local_images = [item.image.read() for item in cvat_xml.read(str(tmp_path / "cvat"))]
    assert [item.image.read() for item in from_zip] == local_images
    assert all(item.image.path.endswith("::" + zip_url) for item in from_zip)  # lazy, through fsspec's zip://
    assert detect_format(folder_url) == detect_format(zip_url) == "cvat"
    with pytest.raises(UsageError, match="annotations.xml"):
        cvat_xml.read(f"{memory_root}/nothing-here")


# ------------------------------------------------------------------------------------------ folder formats from URLs
def upload(local: Path, url: str) -> str:
    """Copy a local folder to ``url`` (made by the test, so it does not exist yet: copied as ``url`` itself)."""
    fsspec.filesystem(url.partition("://")[0]).put(str(local), url, recursive=True)
    return url


def item_values(item: Item) -> tuple:
    """Everything a reader gives for an item, bar where its image lives; image bytes read through the ref."""
    objects = item.objects
    return (
        item.id,
        item.subset,
        item.attributes,
        item.image.name,
        item.image.known_size,
        item.image.read() if item.image.has_bytes else None,
        objects.boxes.tolist(),
        objects.label_ids.tolist(),
        objects.attributes,
        [[polygon.tolist() for polygon in polygons] for polygons in objects.polygons],
        [None if mask is None else mask.array.tolist() for mask in objects.masks],
    )


def assert_same_read(local: Dataset, remote: Dataset, url: str) -> list[Item]:
    """The URL read gives the local read's items, labels and bytes; its images are URLs under ``url``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the readers' counts (skipped annotations…) are the same for both
        local_items, remote_items = list(local), list(remote)
    assert remote.label_map == local.label_map and remote.name == local.name
    assert [item_values(item) for item in remote_items] == [item_values(item) for item in local_items]
    assert len(remote_items) > 0
    assert all(item.image.path is None or item.image.path.startswith(url) for item in remote_items)
    return remote_items


@pytest.mark.parametrize("options", [{}, {"year": "VOC2007", "set": "trainval"}, {"set": "val"}])
def test_voc_from_a_url_reads_as_locally(tmp_path: Path, memory_root: str, options: dict) -> None:
    from test_voc import make_voc

    make_voc(tmp_path / "VOCdevkit")
    url = upload(tmp_path / "VOCdevkit", f"{memory_root}/VOCdevkit")
    items = assert_same_read(voc.read(str(tmp_path / "VOCdevkit"), **options), voc.read(url, **options), url)
    assert any(item.objects.attribute("difficult", False) != [False] * len(item.objects) for item in items)
    assert voc.detect(url) and voc.detect(f"{url}/VOC2007") and detect_format(url) == "voc"


def test_voc_from_a_url_pairs_images_by_id_and_reads_listed_ids_without_xml(tmp_path: Path, memory_root: str) -> None:
    from test_voc import make_voc

    folder = make_voc(tmp_path / "VOCdevkit")
    (folder / "Annotations" / "000012.xml").unlink()  # listed in the image sets: an image without objects
    url = upload(tmp_path / "VOCdevkit", f"{memory_root}/VOCdevkit")
    assert_same_read(voc.read(str(tmp_path / "VOCdevkit")), voc.read(url), url)


def test_voc_errors_from_a_url_name_the_file_and_line(tmp_path: Path, memory_root: str) -> None:
    from test_voc import make_voc

    folder = make_voc(tmp_path / "VOCdevkit")
    (folder / "Annotations" / "000007.xml").write_text("<annotation>\n  <object>\n</annotation>\n")
    url = upload(tmp_path / "VOCdevkit", f"{memory_root}/VOCdevkit")
    with pytest.raises(FormatError) as caught:
        labels = LabelMap.from_names(["chair", "person", "car", "horse"])
        list(voc.read(url, year="VOC2007", set="trainval", label_map=labels))
    assert caught.value.path == f"{url}/VOC2007/Annotations/000007.xml" and caught.value.line == 3
    with pytest.raises(FormatError, match="no image set list") as missing:
        voc.read(url, year="VOC2007", set="test")
    assert missing.value.path == f"{url}/VOC2007/ImageSets/Main"


@pytest.mark.parametrize("layout", ["coco2017", "datumaro"])
def test_coco_from_a_url_reads_as_locally_streaming_the_json(
    tmp_path: Path, memory_root: str, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_coco import make_coco

    make_coco(tmp_path / "coco", layout=layout)
    url = upload(tmp_path / "coco", f"{memory_root}/coco")
    local = coco.read(str(tmp_path / "coco"), include_masks=True)

    def no_whole_reads(path: object) -> bytes:
        raise AssertionError(f"{path} was read whole")

    monkeypatch.setattr(storage, "read_bytes", no_whole_reads)  # the JSON must be streamed, not fetched whole
    remote = coco.read(url, include_masks=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        remote_items = list(remote)
    monkeypatch.undo()
    assert_same_read(local, coco.read(url, include_masks=True), url)
    assert len(remote_items) == 3
    assert coco.read(f"{url}/annotations/instances_train2017.json").name == "instances_train2017"
    assert coco.detect(url) and coco.detect(f"{url}/annotations/instances_train2017.json")
    assert detect_format(url) == "coco"


def test_coco_errors_from_a_url_name_the_file(tmp_path: Path, memory_root: str) -> None:
    (tmp_path / "coco" / "annotations").mkdir(parents=True)
    (tmp_path / "coco" / "annotations" / "instances_val.json").write_text('{"categories": [], "images": [1, }')
    url = upload(tmp_path / "coco", f"{memory_root}/coco")
    with pytest.raises(FormatError, match="not valid JSON") as caught:
        list(coco.read(url))
    assert caught.value.path == f"{url}/annotations/instances_val.json"
    with pytest.raises(FormatError, match="no such file or folder"):
        coco.read(f"{memory_root}/missing")


@pytest.mark.parametrize("maker", ["make_darknet", "make_ultralytics"])
def test_yolo_from_a_url_reads_as_locally(tmp_path: Path, memory_root: str, maker: str) -> None:
    import test_yolo

    getattr(test_yolo, maker)(tmp_path / "yolo")
    url = upload(tmp_path / "yolo", f"{memory_root}/yolo")
    items = assert_same_read(yolo.read(str(tmp_path / "yolo")), yolo.read(url), url)
    assert [item.id for item in items] == ["1", "2", "3"]
    assert yolo.detect(url) and detect_format(url) == "yolo"


def test_yolo_errors_from_a_url_name_the_file_and_line(tmp_path: Path, memory_root: str) -> None:
    from test_yolo import make_darknet

    root = make_darknet(tmp_path / "yolo")
    (root / "obj_train_data" / "2.txt").write_text("1 0.5 0.5 1 1\n1 0.5 x 1 1\n")
    url = upload(tmp_path / "yolo", f"{memory_root}/yolo")
    with pytest.raises(FormatError) as caught:
        list(yolo.read(url))
    assert caught.value.path == f"{url}/obj_train_data/2.txt" and caught.value.line == 2


def test_yolo_image_sizes_come_from_the_first_bytes_of_a_url(
    tmp_path: Path, memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_yolo import make_darknet

    root = make_darknet(tmp_path / "yolo")
    big = make_jpeg(1200, 900, 3)
    (root / "obj_train_data" / "3.jpg").write_bytes(big)
    url = upload(tmp_path / "yolo", f"{memory_root}/yolo")
    bytes_read: dict[str, int] = {}

    class Counting:
        def __init__(self, stream: IO[bytes], name: str) -> None:
            self.stream, self.name = stream, name

        def read(self, size: int = -1) -> bytes:
            data = self.stream.read(size)
            bytes_read[self.name] = bytes_read.get(self.name, 0) + len(data)
            return data

        def __getattr__(self, name: str) -> object:
            return getattr(self.stream, name)

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

    def counting_open(path: str, *, header_only: bool = False) -> Counting:
        assert header_only
        return Counting(storage.open_binary(path, header_only=True), str(path))

    monkeypatch.setattr(imagesize, "open_binary", counting_open)
    items = list(yolo.read(url))
    assert items[2].image.known_size == (1200, 900)
    assert bytes_read[f"{url}/obj_train_data/3.jpg"] < 20_000 < len(big)


def test_cli_converts_a_voc_url_with_and_without_from(tmp_path: Path, memory_root: str) -> None:
    from test_voc import make_voc

    make_voc(tmp_path / "VOCdevkit")
    url = upload(tmp_path / "VOCdevkit", f"{memory_root}/VOCdevkit")
    common = ("--to", "tfrecord", "--year", "VOC2007", "--set", "trainval", "--workers", "1", "-q")
    assert run("convert", str(tmp_path / "VOCdevkit"), str(tmp_path / "local.tfrecord"), "--from", "voc", *common) == 0
    assert run("convert", url, str(tmp_path / "remote.tfrecord"), "--from", "voc", *common) == 0
    assert run("convert", url, str(tmp_path / "detected.tfrecord"), *common) == 0
    expected = list(read_records(str(tmp_path / "local.tfrecord")))
    assert len(expected) == 4
    assert list(read_records(str(tmp_path / "remote.tfrecord"))) == expected
    assert list(read_records(str(tmp_path / "detected.tfrecord"))) == expected


def test_an_unrecognised_url_asks_for_from(memory_root: str) -> None:
    fsspec.filesystem("memory").pipe(f"{memory_root}/stuff/readme.txt", b"hello")
    with pytest.raises(UsageError, match="--from"):
        detect_format(f"{memory_root}/stuff")


# ------------------------------------------------------------------------------------------ s3:// (moto)
@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import s3fs

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": "eu-west-1"},
    }
    monkeypatch.setitem(fsspec.config.conf, "s3", options)  # every s3:// URL opened by tfodkit goes to moto
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"tfodkit-{uuid.uuid4().hex[:10]}"
    filesystem = fsspec.filesystem("s3")
    filesystem.mkdir(bucket)
    yield f"s3://{bucket}"
    s3fs.S3FileSystem.clear_instance_cache()


def test_s3_round_trip_equals_local(tmp_path: Path, dataset: Dataset, s3_bucket: str) -> None:
    expected = local_records(dataset, tmp_path / "local", "all.tfrecord", shards=2)
    tfod.write(dataset, f"{s3_bucket}/run1/all.tfrecord", shards=2)
    assert remote_files(f"{s3_bucket}/run1") == expected
    wanted = sorted(item.id for item in dataset)
    for source in (f"{s3_bucket}/run1", f"{s3_bucket}/run1/all-*.tfrecord", f"{s3_bucket}/run1/all.tfrecord"):
        assert sorted(item.id for item in tfod.read(source)) == wanted, source


def test_s3_convert_cli_index_and_random_access(tmp_path: Path, dataset: Dataset, s3_bucket: str) -> None:
    local = tmp_path / "train.tfrecord"  # subset "train" (the file stem) -> out/train.tfrecord
    tfod.write(dataset, str(local))
    assert (
        run(
            "convert", str(local), f"{s3_bucket}/out/", "--from", "tfrecord", "--to", "tfrecord", "-q", "--workers", "1"
        )
        == 0
    )
    assert run("index", f"{s3_bucket}/out/train.tfrecord", "-q") == 0
    index = read_index(f"{s3_bucket}/out/train.tfrecord.idx")
    records = list(read_records(f"{s3_bucket}/out/train.tfrecord"))
    assert len(index) == len(records) > 0
    remote = RecordIndex(f"{s3_bucket}/out/train.tfrecord")
    assert [remote.read(position) for position in reversed(range(len(records)))] == records[::-1]
    remote.close()


def test_s3_failed_write_leaves_no_object(dataset: Dataset, s3_bucket: str) -> None:
    def items() -> Iterator[object]:
        yield next(iter(dataset))
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        tfod.write(Dataset(items, dataset.label_map), f"{s3_bucket}/failed/out.tfrecord")  # type: ignore[arg-type]
    assert fsspec.filesystem("s3").glob(f"{s3_bucket}/failed/*") == []


def test_convert_reads_from_s3_streaming_items(dataset: Dataset, s3_bucket: str, tmp_path: Path) -> None:
    tfod.write(dataset, f"{s3_bucket}/src/data.tfrecord")
    report = convert(
        f"{s3_bucket}/src/data.tfrecord", str(tmp_path / "out.tfrecord"), from_format="tfrecord", to_format="tfrecord"
    )
    assert report.items == len(list(dataset))
    assert list(read_records(str(tmp_path / "out.tfrecord"))) == list(read_records(f"{s3_bucket}/src/data.tfrecord"))


@pytest.mark.filterwarnings("ignore:2 COCO annotation")  # the sample's two skipped boxes, locally and remotely
def test_s3_voc_and_coco_urls_convert_to_the_local_records(tmp_path: Path, s3_bucket: str) -> None:
    from test_coco import make_coco
    from test_voc import make_voc

    make_voc(tmp_path / "VOCdevkit")
    make_coco(tmp_path / "coco")
    for name in ("VOCdevkit", "coco"):
        upload(tmp_path / name, f"{s3_bucket}/{name}")
    for name, source_format, options in (
        ("VOCdevkit", "voc", {"year": "VOC2007", "set": "trainval"}),
        ("coco", "coco", {"include_masks": True}),
    ):
        # one folder per dataset: each record file's label map is written beside it
        local, remote = tmp_path / f"out-{name}" / "local.tfrecord", tmp_path / f"out-{name}" / "remote.tfrecord"
        convert(str(tmp_path / name), str(local), from_format=source_format, to_format="tfrecord", read_options=options)
        report = convert(f"{s3_bucket}/{name}", str(remote), to_format="tfrecord", read_options=options)
        assert report.source_format == source_format  # detected from the URL
        assert list(read_records(str(remote))) == list(read_records(str(local))), name


def test_s3_image_header_fetches_only_its_first_bytes(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    big = make_jpeg(1600, 1200, 1)
    fsspec.filesystem("s3").pipe(f"{s3_bucket}/big.jpg", big)
    fetched: list[int] = []
    fetch_range = s3fs.core.S3File._fetch_range

    def counting(self: object, start: int, end: int) -> bytes:
        fetched.append(end - start)
        return fetch_range(self, start, end)

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    assert imagesize.read_header(f"{s3_bucket}/big.jpg").size == (1600, 1200)
    assert 0 < sum(fetched) <= 2 * (1 << 13) < len(big)
