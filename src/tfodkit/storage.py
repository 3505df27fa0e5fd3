"""Where bytes come from and go to: local paths or fsspec URLs, and atomic outputs.

Every output is built under a temporary name beside its target and renamed into place only when the
whole write succeeded, so an exception, Ctrl-C or a full disk leaves the previous output (or nothing).

Outputs to fsspec URLs (``s3://``, ``gs://``, ``memory://``…) are built the same way in a local staging folder
(under ``$TMPDIR``) and uploaded when the write succeeded; a failed write uploads nothing. Object stores have
no atomic rename: each object appears whole (an S3 PUT or completed multipart upload is atomic per object), but
a set of files (shards, a folder) is uploaded one object after another, and an error during the upload removes
the objects already uploaded by that commit, as far as it can.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tfodkit.errors import FormatError, UsageError

TEMP_MARKER = ".tfodkit-partial-"
# Folders a run makes beside or inside its output (records from workers, zip staging); the pid follows the prefix.
WORK_FOLDER_PREFIXES = (".tfodkit-spool-", ".tfodkit-staging-")


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for ``s3://…``, ``memory://…`` and other fsspec URLs (``file://`` included)."""
    return "://" in str(path)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """All bytes of a local file or fsspec URL; a missing file is a :class:`FormatError` naming it."""
    try:
        if is_url(path):
            import fsspec

            with fsspec.open(str(path), "rb") as remote:
                return remote.read()
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FormatError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise FormatError("expected a file, found a directory", path=str(path)) from None


def open_input(path: str | os.PathLike[str]) -> IO[bytes]:
    """A binary stream for reading a local file or an fsspec URL."""
    try:
        if is_url(path):
            import fsspec

            return fsspec.open(str(path), "rb").open()
        return open(path, "rb")
    except FileNotFoundError:
        raise FormatError("file not found", path=str(path)) from None


def _temp_sibling(target: Path) -> Path:
    return target.with_name(f"{target.name}{TEMP_MARKER}{os.getpid()}-{uuid.uuid4().hex[:8]}")


_written: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("tfodkit_written", default=None)


@contextlib.contextmanager
def recording_outputs() -> Iterator[list[str]]:
    """Collect the paths (or URLs) of the files and folders put in place inside the block, in order.

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
        >>> with recording_outputs() as written, atomic_file(target) as out:
        ...     _ = out.write(b"a")
        >>> written == [target]
        True
    """
    written: list[str] = []
    token = _written.set(written)
    try:
        yield written
    finally:
        _written.reset(token)


def _record_written(path: str | os.PathLike[str]) -> None:
    written = _written.get()
    # Files a writer stages in its own work folder (a zip's members) are not outputs.
    if written is not None and not any(part.startswith(".tfodkit-") for part in Path(str(path)).parts):
        written.append(str(path))


def work_folder_prefix(kind: str) -> str:
    """The name prefix of a work folder of this process (``.tfodkit-spool-1234-``): the pid lets a later run
    tell a killed run's leftovers from a live run's folder (see :func:`remove_leftovers`).

    Example:
        >>> work_folder_prefix("spool") == f".tfodkit-spool-{os.getpid()}-"
        True
    """
    return f".tfodkit-{kind}-{os.getpid()}-"


def _leftover_pid(name: str) -> int | None:
    """The pid in a temporary or work name of tfodkit, or None when ``name`` is not one."""
    if TEMP_MARKER in name:
        rest = name.rpartition(TEMP_MARKER)[2]
    else:
        prefix = next((prefix for prefix in WORK_FOLDER_PREFIXES if name.startswith(prefix)), None)
        if prefix is None:
            return None
        rest = name[len(prefix) :]
    pid = rest.partition("-")[0]
    return int(pid) if pid.isdigit() else None


def _is_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(target: str | os.PathLike[str]) -> list[Path]:
    """Remove what a killed run left beside or inside ``target`` (temporary ``*.tfodkit-partial-PID-*`` names and
    ``.tfodkit-spool-PID-*`` / ``.tfodkit-staging-PID-*`` folders) when process PID is no longer alive; return
    what was removed. A live run's files are left alone. URLs have nothing local to clean.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "out.tfrecord.tfodkit-partial-999999999-0a1b2c3d").write_bytes(b"half")
        >>> [path.name for path in remove_leftovers(folder / "out.tfrecord")], os.listdir(folder)
        (['out.tfrecord.tfodkit-partial-999999999-0a1b2c3d'], [])
    """
    if is_url(target):
        return []
    target_path = Path(os.path.abspath(target))
    removed: list[Path] = []
    for folder in (target_path.parent, target_path):
        try:
            names = sorted(os.listdir(folder)) if folder.is_dir() and not folder.is_symlink() else []
        except OSError:
            continue
        for name in names:
            pid = _leftover_pid(name)
            if pid is not None and not _is_alive(pid):
                _remove(folder / name)
                removed.append(folder / name)
    return removed


def is_empty_output(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` does not exist or is an empty folder (local or URL, as far as fsspec can tell)."""
    if is_url(path):
        filesystem, inner = _url_filesystem(str(path))
        if not filesystem.exists(inner):
            return True
        return bool(filesystem.isdir(inner)) and not filesystem.ls(inner)
    target = Path(path)
    if target.is_symlink() and not target.exists():
        return False  # a dangling link is something we did not make
    if target.is_dir():
        return next(os.scandir(target), None) is None
    return not os.path.lexists(target)


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output(
    target: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
    also_owned: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse an output that would destroy what is not its own, with a :class:`UsageError` of one line.

    Always refused: an output (``target`` or a path in ``also_owned``) that is, holds or lies inside an input, or
    that holds the current folder. Refused unless ``overwrite``: a ``target`` that exists and is not an empty
    folder, or an ``also_owned`` path that exists (an earlier shard of a record file, say). Paths are compared
    resolved (links, ``..``, relative or absolute); URLs are compared as text.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> check_output(os.path.join(folder, "out"), inputs=[folder])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tfodkit.errors.UsageError: the output .../out lies inside the input ...; write it elsewhere
    """
    owned = [target, *also_owned]
    for output in owned:
        for given in inputs:
            if given is None or is_url(given) != is_url(output):
                continue
            out_path, in_path = (
                (PurePosixPath(str(output)), PurePosixPath(str(given)))
                if is_url(output)
                else (_real(output), _real(given))
            )
            if out_path == in_path:
                raise UsageError(f"the output {output} is the input {given}; write it elsewhere")
            if _is_within(out_path, in_path):  # type: ignore[arg-type]
                raise UsageError(f"the output {output} lies inside the input {given}; write it elsewhere")
            if _is_within(in_path, out_path):  # type: ignore[arg-type]
                raise UsageError(f"the output {output} holds the input {given}; write it elsewhere")
    if not is_url(target) and _is_within(_real(os.getcwd()), _real(target)):
        raise UsageError(f"the output {target} holds the current folder; name a new folder for it")
    if overwrite:
        return
    if not is_empty_output(target):
        raise UsageError(f"{target} exists; --overwrite replaces it")
    for output in also_owned:
        if not is_empty_output(output):
            raise UsageError(f"{output} exists (part of the output {target}); --overwrite replaces it")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Write a file atomically: yields a binary file object; the target appears only on a clean exit.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
        >>> with atomic_file(target) as out:
        ...     _ = out.write(b"done")
        >>> open(target, "rb").read()
        b'done'
    """
    with atomic_path(path) as temp_path:
        with open(temp_path, "wb") as out:
            yield out


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; on a clean exit it is renamed to ``path`` (file or folder).

    On any exception (KeyboardInterrupt included) the temporary file or folder is removed and ``path`` is
    left as it was. A folder target that exists is replaced only at the end. For a URL ``path`` the temporary
    path is local and is uploaded on a clean exit (a folder file by file, over what is there: remote files
    that the new folder does not have are not deleted).
    """
    if is_url(path):
        with OutputSet() as outputs:
            yield outputs.temp_path_for(path)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_sibling(target)
    try:
        yield temp
        if temp.is_dir() and target.is_dir():
            old = _temp_sibling(target)
            os.replace(target, old)
            os.replace(temp, target)
            shutil.rmtree(old, ignore_errors=True)
            _record_written(path)
        elif temp.exists():
            os.replace(temp, target)
            _record_written(path)
    except BaseException:
        _remove(temp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _is_local_filesystem(filesystem: object) -> bool:
    protocol = getattr(filesystem, "protocol", "")
    return bool({"file", "local"} & set([protocol] if isinstance(protocol, str) else protocol))


class OutputSet:
    """Several output files written together: each gets a temporary name; all are renamed on commit.

    Used where one run writes many files beside each other (subset files, shards, a label map), so a
    failed run leaves none of them, and a good run replaces them all at the end. Targets may be fsspec URLs:
    they are staged locally (:meth:`local_mirror`) and uploaded on commit.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> with OutputSet() as outputs:
        ...     with open(outputs.temp_path_for(os.path.join(folder, "a.txt")), "wb") as out:
        ...         _ = out.write(b"a")
        >>> os.listdir(folder)
        ['a.txt']
    """

    def __init__(self) -> None:
        self._temp_by_target: dict[Path, Path] = {}
        self._created_folders: list[Path] = []  # removed again (when empty) if the run fails
        self._staging_by_url_folder: dict[str, Path] = {}  # remote folder URL -> local folder mirroring it
        self._replaced: list[Path] = []  # earlier files of the output that this run's files replace

    def replace_also(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Remove ``paths`` on :meth:`commit` (after the renames) unless this run wrote them: the stale members of
        an output's family (old shards of another count, say). Nothing is removed when the run fails."""
        self._replaced.extend(Path(path) for path in paths if not is_url(path))

    def local_mirror(self, target: str | os.PathLike[str]) -> Path:
        """The local path that stands for ``target`` in this run: ``target`` itself, or for a URL a path in a
        local staging folder whose files are uploaded to the URL's folder on :meth:`commit`.

        Example:
            >>> outputs = OutputSet()
            >>> outputs.local_mirror("memory://bucket/out/a.tfrecord").name
            'a.tfrecord'
            >>> outputs.discard()
        """
        if not is_url(target):
            return Path(target)
        url = str(target).rstrip("/")
        folder, _, name = url.rpartition("/")
        if not name or folder.endswith(":/"):
            raise UsageError(f"{target}: name a file or folder inside a bucket or folder")
        staging = self._staging_by_url_folder.get(folder)
        if staging is None:
            staging = Path(tempfile.mkdtemp(prefix="tfodkit-upload-"))
            self._staging_by_url_folder[folder] = staging
        return staging / name

    def make_folder(self, folder: str | os.PathLike[str]) -> Path:
        """Create the local ``folder`` (and its parents) for this run's files; removed again if the run fails and
        it is empty then."""
        path = Path(folder)
        missing = [each for each in (path, *path.parents) if not each.exists()]
        path.mkdir(parents=True, exist_ok=True)
        self._created_folders.extend(missing)  # deepest first
        return path

    def temp_path_for(self, target: str | os.PathLike[str]) -> Path:
        """The temporary path to write ``target`` to (its folder is created)."""
        target_path = self.local_mirror(target)
        if target_path in self._temp_by_target:
            raise ValueError(f"{target_path} is already an output of this run")
        self.make_folder(target_path.parent)
        temp = _temp_sibling(target_path)
        self._temp_by_target[target_path] = temp
        return temp

    def rename_target(self, old_target: str | os.PathLike[str], new_target: str | os.PathLike[str]) -> None:
        """Change the final name of an output (shard counts known only at the end)."""
        temp = self._temp_by_target.pop(self.local_mirror(old_target))
        self._temp_by_target[self.local_mirror(new_target)] = temp

    @property
    def targets(self) -> list[Path]:
        return list(self._temp_by_target)

    def commit(self) -> None:
        for target, temp in self._temp_by_target.items():
            if temp.exists():
                os.replace(temp, target)
                if not self._is_staged(target):
                    _record_written(target)
        for stale in self._replaced:
            if stale not in self._temp_by_target:
                _remove(stale)
        self._temp_by_target.clear()
        self._replaced.clear()
        try:
            self._upload_staged()
        finally:
            self._remove_staging()

    def discard(self) -> None:
        self._replaced.clear()
        for temp in self._temp_by_target.values():
            _remove(temp)
        self._temp_by_target.clear()
        for folder in self._created_folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        self._created_folders.clear()
        self._remove_staging()

    def _upload_staged(self) -> None:
        """Upload every staged file to its URL; on an error, remove what this commit uploaded and re-raise."""
        if not self._staging_by_url_folder:
            return
        import fsspec

        uploaded: list[tuple[object, str]] = []
        try:
            for folder_url, staging in self._staging_by_url_folder.items():
                filesystem, remote_folder = fsspec.core.url_to_fs(folder_url)
                for local_file in sorted(path for path in staging.rglob("*") if path.is_file()):
                    remote = f"{remote_folder.rstrip('/')}/{local_file.relative_to(staging).as_posix()}"
                    if _is_local_filesystem(filesystem):  # object stores have no folders to make
                        filesystem.makedirs(remote.rpartition("/")[0] or "/", exist_ok=True)
                    filesystem.put_file(str(local_file), remote)
                    uploaded.append((filesystem, remote))
                    _record_written(f"{folder_url}/{local_file.relative_to(staging).as_posix()}")
        except BaseException:
            for filesystem, remote in uploaded:
                with contextlib.suppress(Exception):
                    filesystem.rm_file(remote)  # type: ignore[attr-defined]
            raise

    def _is_staged(self, path: Path) -> bool:
        return any(staging in path.parents for staging in self._staging_by_url_folder.values())

    def _remove_staging(self) -> None:
        for staging in self._staging_by_url_folder.values():
            shutil.rmtree(staging, ignore_errors=True)
        self._staging_by_url_folder.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


# ---------------------------------------------------------------------------------------------- reading folders
# The folder readers (VOC, COCO, YOLO) take a local path or an fsspec URL. Local paths keep the os/pathlib calls
# (no fsspec import, no extra cost); URLs go through fsspec, one file at a time.


def _url_filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def join_path(base: str | os.PathLike[str], *names: str) -> str:
    """``base/names…``: ``os.path.join`` for a local path; for a URL, names are appended with ``/`` (a leading ``/``
    in a name does not leave the URL's folder).

    Example:
        >>> join_path("memory://bucket/voc", "Annotations", "000001.xml")
        'memory://bucket/voc/Annotations/000001.xml'
    """
    if not is_url(base):
        return os.path.join(base, *names)
    return "/".join([str(base).rstrip("/"), *(name.strip("/") for name in names)])


def is_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` (local or URL) is a file."""
    if not is_url(path):
        return os.path.isfile(path)
    filesystem, inner = _url_filesystem(str(path))
    return bool(filesystem.isfile(inner))


def is_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` (local or URL) is a folder (for object stores: a prefix with objects under it)."""
    if not is_url(path):
        return os.path.isdir(path)
    filesystem, inner = _url_filesystem(str(path))
    return bool(filesystem.isdir(inner))


def list_folder(path: str | os.PathLike[str], *, follow_links: bool = True) -> Iterator[tuple[str, bool]]:
    """``(name, is_folder)`` of each entry of a local or URL folder, unsorted; a local folder is streamed.

    ``follow_links=False`` leaves out links to folders (as ``os.walk`` does not enter them). A missing folder
    raises FileNotFoundError.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> os.mkdir(os.path.join(folder, "sub"))
        >>> list(list_folder(folder))
        [('sub', True)]
    """
    if not is_url(path):
        with os.scandir(path) as entries:
            for entry in entries:
                is_folder = entry.is_dir()
                if is_folder and not follow_links and entry.is_symlink():
                    continue
                yield entry.name, is_folder
        return
    filesystem, inner = _url_filesystem(str(path))
    inner = inner.rstrip("/")
    for entry in filesystem.ls(inner, detail=True):
        listed = str(entry["name"])
        is_folder = entry.get("type") == "directory"
        if listed.rstrip("/") == inner:  # ls of a file lists the file; a store may list a folder's own marker
            if not (is_folder or listed.endswith("/")):
                raise NotADirectoryError(str(path))
            continue
        yield listed.rstrip("/").rpartition("/")[2], is_folder


def open_binary(path: str | os.PathLike[str], *, header_only: bool = False) -> IO[bytes]:
    """A binary stream of a local file or URL; a missing file raises FileNotFoundError (callers say which file).

    ``header_only``: a URL's bytes are fetched as they are read, without read-ahead (an object store's file would
    otherwise fetch a block of up to 50 MB for the first read): for reading image headers and a file's first bytes.
    """
    if not is_url(path):
        return open(path, "rb")
    filesystem, inner = _url_filesystem(str(path))
    stream = filesystem.open(inner, "rb", cache_type="none") if header_only else filesystem.open(inner, "rb")
    # fsspec does not cache archive filesystems (zip://, tar://), and one closes its container when collected: the
    # stream holds it, or its first read fails with "seek of closed file".
    with contextlib.suppress(AttributeError):
        stream.tfodkit_filesystem = filesystem
    return stream


class UrlPath:
    """The parts of :class:`pathlib.Path` the folder readers use, for an fsspec URL (``s3://bucket/coco``).

    Name arithmetic (``/``, ``name``, ``parent``, ``with_suffix``, ``relative_to``…) acts on the text after
    ``://``; the bucket (or first part) is the root. File questions and reads go through fsspec. ``str()`` gives
    the URL, so error messages name it. There is no ``__fspath__``: a URL cannot reach ``open()`` by mistake.

    Example:
        >>> coco = UrlPath("s3://bucket/coco")
        >>> str(coco / "annotations" / "instances_val.json"), coco.parent.name
        ('s3://bucket/coco/annotations/instances_val.json', 'bucket')
        >>> (coco / "images" / "a.jpg").relative_to(coco).with_suffix("").as_posix()
        'images/a'
    """

    __slots__ = ("inner", "protocol")

    def __init__(self, url: str, inner: PurePosixPath | None = None) -> None:
        protocol, separator, rest = str(url).partition("://")
        self.protocol = protocol + separator  # "s3://"; chained URLs keep their prefix ("simplecache::s3://")
        self.inner = inner if inner is not None else PurePosixPath(rest)

    def _with(self, inner: PurePosixPath) -> UrlPath:
        return UrlPath(self.protocol, inner)

    def __str__(self) -> str:
        return self.protocol + str(self.inner)

    def __repr__(self) -> str:
        return f"UrlPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UrlPath) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: UrlPath) -> bool:
        return str(self) < str(other)

    def __truediv__(self, name: str | os.PathLike[str]) -> UrlPath:
        return self._with(self.inner / str(name).lstrip("/"))

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def stem(self) -> str:
        return self.inner.stem

    @property
    def suffix(self) -> str:
        return self.inner.suffix

    @property
    def parts(self) -> tuple[str, ...]:
        return self.inner.parts

    @property
    def parent(self) -> UrlPath:
        """The folder holding this one; the root (the bucket) is its own parent, as ``/`` is."""
        parent = self.inner.parent
        return self if str(parent) in (".", "/") else self._with(parent)

    def with_suffix(self, suffix: str) -> UrlPath:
        return self._with(self.inner.with_suffix(suffix))

    def relative_to(self, other: UrlPath) -> PurePosixPath:
        """The path below ``other`` (a plain relative path); ValueError when not below it."""
        if not isinstance(other, UrlPath) or other.protocol != self.protocol:
            raise ValueError(f"{self} is not inside {other}")
        return self.inner.relative_to(other.inner)

    def is_file(self) -> bool:
        return is_file(str(self))

    def is_dir(self) -> bool:
        return is_dir(str(self))

    def exists(self) -> bool:
        filesystem, inner = _url_filesystem(str(self))
        return bool(filesystem.exists(inner))

    def iterdir(self) -> Iterator[UrlPath]:
        return (self / name for name, _ in list_folder(str(self)))

    def glob(self, pattern: str) -> Iterator[UrlPath]:
        """The entries of this folder whose name matches ``pattern`` (one level: no ``**`` or ``/``)."""
        import fnmatch

        if "/" in pattern:
            raise ValueError("UrlPath.glob matches names in one folder only")
        try:
            names = [name for name, _ in list_folder(str(self))]
        except (FileNotFoundError, NotADirectoryError):
            return iter(())
        return (self / name for name in names if fnmatch.fnmatchcase(name, pattern))

    def read_bytes(self) -> bytes:
        """All the bytes; a missing file raises FileNotFoundError (as ``Path.read_bytes`` does)."""
        with open_binary(str(self)) as stream:
            return stream.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        """The text, newlines made ``\\n`` (as ``Path.read_text`` does); bad bytes raise UnicodeDecodeError."""
        return self.read_bytes().decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def as_path(path: str | os.PathLike[str]) -> Path | UrlPath:
    """``path`` as a :class:`~pathlib.Path`, or a :class:`UrlPath` for an fsspec URL.

    Example:
        >>> as_path("memory://bucket/voc"), as_path("voc")
        (UrlPath('memory://bucket/voc'), PosixPath('voc'))
    """
    return UrlPath(str(path)) if is_url(path) else Path(path)
