"""Where bytes come from and go to: local paths or fsspec URLs, and atomic outputs.

Every output is built under a temporary name beside its target and renamed into place only when the
whole write succeeded, so an exception, Ctrl-C or a full disk leaves the previous output (or nothing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tfodkit.errors import FormatError

TEMP_MARKER = ".tfodkit-partial-"


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
    left as it was. A folder target that exists is replaced only at the end.
    """
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
        elif temp.exists():
            os.replace(temp, target)
    except BaseException:
        _remove(temp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class OutputSet:
    """Several output files written together: each gets a temporary name; all are renamed on commit.

    Used where one run writes many files beside each other (subset files, shards, a label map), so a
    failed run leaves none of them, and a good run replaces them all at the end.

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

    def temp_path_for(self, target: str | os.PathLike[str]) -> Path:
        """The temporary path to write ``target`` to (its folder is created)."""
        target_path = Path(target)
        if target_path in self._temp_by_target:
            raise ValueError(f"{target_path} is already an output of this run")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_sibling(target_path)
        self._temp_by_target[target_path] = temp
        return temp

    def rename_target(self, old_target: str | os.PathLike[str], new_target: str | os.PathLike[str]) -> None:
        """Change the final name of an output (shard counts known only at the end)."""
        temp = self._temp_by_target.pop(Path(old_target))
        self._temp_by_target[Path(new_target)] = temp

    @property
    def targets(self) -> list[Path]:
        return list(self._temp_by_target)

    def commit(self) -> None:
        for target, temp in self._temp_by_target.items():
            if temp.exists():
                os.replace(temp, target)
        self._temp_by_target.clear()

    def discard(self) -> None:
        for temp in self._temp_by_target.values():
            _remove(temp)
        self._temp_by_target.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
