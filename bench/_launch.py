"""Whole-process wall time and peak RSS of a command, measured so the bench process itself does not count.

A child's ``ru_maxrss`` includes the RSS high-water mark of the process that spawned it (Linux carries it
across ``exec``): a bench that grew while making its data would inflate every figure it measures with a plain
``subprocess`` + ``wait4``. So a tiny launcher (``python -S``, ~9 MB) spawns the command and reports the
command's own ``wait4`` figures.
"""

from __future__ import annotations

import subprocess
import sys

LAUNCHER = """import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def wall_and_peak(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of ``command`` (its stdout discarded); a failure raises with its stderr."""
    launched = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *command], capture_output=True, text=True)
    if launched.returncode != 0 or not launched.stdout.strip():
        raise RuntimeError(f"launcher failed: {launched.stderr[-2000:]}")
    seconds, peak_kib, code = launched.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}):\n{launched.stderr[-3000:]}")
    return float(seconds), int(peak_kib) / 1024
