"""Ordered, memory-bounded parallel map over a stream: the local executor of every per-item step.

Output order and bytes are the same for any number of workers; at most ``workers * 4`` chunks are in flight,
so memory does not grow with the stream. With ``spool_dir``, each result's last element (a framed record) goes
from worker to parent through a chunk file instead of the pipe (see :mod:`tfodkit.spool`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tfodkit import spool

if TYPE_CHECKING:
    from concurrent.futures import Future

Input = TypeVar("Input")
Output = TypeVar("Output")


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the process that started it dies, even by ``kill -9`` (which
    gives the parent no chance to stop its pool). On Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread also checks once a second that the parent is still ours."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the thread below does it
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        import time

        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)  # re-parented: the parent is gone

    threading.Thread(target=watch, name="tfodkit-parent-watch", daemon=True).start()


def _apply_chunk(function: Callable[[Input], Output], chunk: list[Input]) -> list[Output]:
    return [function(value) for value in chunk]


def _apply_chunk_spooled(
    function: Callable[[Input], tuple[Any, ...]], chunk: list[Input], folder: str, write_payload: spool.SpoolWrite
) -> tuple[str, list[tuple[Any, ...]]]:
    return spool.write_chunk((function(value) for value in chunk), folder, write_payload)


def ordered_map(
    function: Callable[[Input], Output],
    values: Iterable[Input],
    *,
    workers: int = 1,
    chunk_size: int = 32,
    spool_dir: str | None = None,
    spool_write: spool.SpoolWrite = spool.write_bytes,
) -> Generator[Output, None, None]:  # a generator: callers may close() it to stop the workers early
    """``map(function, values)`` on ``workers`` processes, in input order, with bounded memory.

    ``function`` must be picklable (a module-level function or a ``functools.partial`` of one). An exception
    raised by ``function`` is raised here, in order, with pending work cancelled.

    With ``workers > 1`` and a ``spool_dir`` (on the output's disk), ``function`` returns a tuple whose last
    element the worker writes to a chunk file with ``spool_write(file, element)``; the parent gets the tuple
    with a :class:`tfodkit.spool.SpooledBytes` in its place, valid until the next result is asked for. Chunks
    left over when a run stops early stay in ``spool_dir``: the caller removes the folder.

    Example:
        >>> list(ordered_map(abs, [-1, 2, -3], workers=1))
        [1, 2, 3]
    """
    if workers <= 1:
        yield from map(function, values)
        return
    iterator = iter(values)
    from concurrent.futures import ProcessPoolExecutor  # 14 ms of imports, only when there are workers

    pending: deque[Future[Any]] = deque()
    max_pending = workers * 4
    with ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        try:
            while True:
                while len(pending) < max_pending:
                    chunk = list(islice(iterator, chunk_size))
                    if not chunk:
                        break
                    if spool_dir is None:
                        pending.append(pool.submit(_apply_chunk, function, chunk))
                    else:
                        # with a spool_dir, function returns tuples (the docstring's contract)
                        to_spool = cast("Callable[[Input], tuple[Any, ...]]", function)
                        pending.append(pool.submit(_apply_chunk_spooled, to_spool, chunk, spool_dir, spool_write))
                if not pending:
                    return
                if spool_dir is None:
                    yield from pending.popleft().result()
                    continue
                chunk_fd, results = spool.open_chunk(*pending.popleft().result())
                try:
                    # the same tuples, a SpooledBytes standing in for the last element (the docstring's contract)
                    yield from cast("list[Output]", results)
                finally:
                    os.close(chunk_fd)
        finally:
            for future in pending:
                future.cancel()
