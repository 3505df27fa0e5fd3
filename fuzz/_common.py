"""What every harness shares: the one rule (only a ``TfodError`` may escape), atheris start-up, seed files.

A harness module defines ``test_one_input(data: bytes) -> None`` (already wrapped by :func:`only_typed_errors`)
and ``seeds() -> list[bytes]`` (valid inputs built with tfodkit itself, the starting corpus). Run one with
``python fuzz/fuzz_example.py CORPUS_DIR -runs=1000000`` (libFuzzer flags), or all through ``fuzz/run.py``.
The same functions are driven by hypothesis in ``tests/test_fuzz_bounded.py``, so harnesses also run where
atheris is not installed.

tfodkit must not be imported at module level here: atheris instruments only modules imported inside
:func:`instrumented`, which each harness enters before its tfodkit imports.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

# Python-level modules whose branches are worth coverage feedback besides tfodkit's own.
INSTRUMENTED_PACKAGES = ["tfodkit", "zipfile", "gzip", "json"]


def running_under_atheris(module_name: str) -> bool:
    return module_name == "__main__"


@contextlib.contextmanager
def instrumented(enabled: bool) -> Iterator[None]:
    """Instrument the imports made inside the block for coverage (only when run as an atheris harness)."""
    if not enabled:
        yield
        return
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED_PACKAGES):
        yield


def only_typed_errors(function: Callable[[bytes], Any]) -> Callable[[bytes], None]:
    """Wrap a harness body: a :class:`~tfodkit.errors.TfodError` is an accepted outcome, anything else escapes.

    Warnings are expected outcomes too (a reader may warn about a dataset and go on).
    """

    @functools.wraps(function)
    def test_one_input(data: bytes) -> None:
        from tfodkit.errors import TfodError

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                function(data)
            except TfodError:
                pass

    return test_one_input


def scratch_dir() -> str:
    """A private folder for harnesses that need files, removed at exit: under ``$TFODKIT_FUZZ_SCRATCH`` when set
    (fuzz/run.py sets it and removes it after the run: libFuzzer ends the process without Python's exit
    handlers), else in RAM-backed /dev/shm when there is one."""
    base = os.environ.get("TFODKIT_FUZZ_SCRATCH")
    if base is None and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    path = tempfile.mkdtemp(prefix="tfodkit-fuzz-", dir=base)
    atexit.register(shutil.rmtree, path, True)
    return path


def touch_item(item: Any) -> None:
    """Force every lazy part of an item a writer would use: image size, masks, polygons, attributes."""
    len(item.objects)
    item.objects.boxes.sum()
    for mask in item.objects.masks:
        if mask is not None:
            _ = mask.array  # a property: decoding is the point
    for polygons in item.objects.polygons:
        for polygon in polygons:
            len(polygon)
    for name in item.objects.attributes:
        item.objects.attribute(name)
    if item.image.known_size is None and item.image.data is not None:
        _ = item.image.size  # a property: probing the header is the point


def fuzz_main(test_one_input: Callable[[bytes], None]) -> None:
    """Run ``test_one_input`` under atheris with the command line's libFuzzer flags."""
    import atheris

    warnings.simplefilter("ignore")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
