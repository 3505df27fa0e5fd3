"""Remote inputs and outputs through fsspec: the memory filesystem, and a real S3 protocol server on loopback.

The S3 tests run moto's server on 127.0.0.1 (port chosen by the OS) and s3fs pointed at it; they are skipped
where moto or s3fs is not installed (``make beam-test`` installs both into .venv-beam).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from _cli import run

from tfodkit.formats import tfod
from tfodkit.index import RecordIndex, read_index
from tfodkit.model import Dataset
from tfodkit.pipeline import convert
from tfodkit.records import read_records
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
