"""COCO's run-length encoding: the column-major counts, its compressed string form, and their vertical runs."""

from __future__ import annotations

import numpy as np


def column_runs_from_rle_counts(counts: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical runs ``(columns, first_rows, stop_rows)`` of a column-major RLE (COCO's uncompressed ``counts``:
    alternating background / foreground lengths, background first). Runs never touch: foreground runs with
    an empty background run between them are joined.

    Example:
        >>> [part.tolist() for part in column_runs_from_rle_counts(np.array([1, 3, 2]), 2)]
        [[0, 1], [1, 0], [2, 2]]
    """
    ends = np.cumsum(np.asarray(counts, dtype=np.int64))
    starts = ends - counts
    starts, ends = starts[1::2], ends[1::2]  # foreground runs
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if len(starts) > 1:  # join runs that touch (an empty background run between them)
        gaps = starts[1:] != ends[:-1]
        starts = starts[np.concatenate([[True], gaps])]
        ends = ends[np.concatenate([gaps, [True]])]
    first_column = starts // height
    last_column = (ends - 1) // height
    spans = last_column - first_column + 1
    if np.all(spans == 1):
        return first_column, starts - first_column * height, ends - first_column * height
    # A run that wraps from the bottom of one column to the top of the next: split it per column.
    run = np.repeat(np.arange(len(starts)), spans)
    offset = np.arange(len(run)) - np.repeat(np.cumsum(spans) - spans, spans)
    columns = first_column[run] + offset
    first_rows = np.where(offset == 0, starts[run] - columns * height, 0)
    stop_rows = np.where(columns == last_column[run], ends[run] - columns * height, height)
    return columns, first_rows, stop_rows


def rle_counts_from_string(counts: bytes | str) -> np.ndarray:
    """COCO's compressed RLE string (``rleToString`` in pycocotools' maskApi.c) as the uncompressed counts.

    Each count is a little-endian sequence of 5-bit groups (``char - 48``; bit 0x20 = more groups follow, bit
    0x10 of the last group = negative); from the fourth count on, counts are stored as the difference to the
    count two places before.

    Example:
        >>> rle_counts_from_string(b"0120").tolist()
        [0, 1, 2, 1]
    """
    raw = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else bytes(counts), dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    groups = raw.astype(np.int64) - 48
    last = (groups & 0x20) == 0  # a group without the "more" bit ends a number
    number = np.concatenate([[0], np.cumsum(last)[:-1]])  # which number each group belongs to
    first_group = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    position = np.arange(raw.size) - first_group[number]
    values = np.add.reduceat((groups & 0x1F) << (5 * position), first_group)
    # Sign extension: a negative number has bit 0x10 set in its last group.
    last_positions = position[last]
    negative = (groups[last] & 0x10) != 0
    values = np.where(negative, values - (np.int64(1) << (5 * (last_positions + 1))), values)
    # Undo the delta coding: counts[i] = values[i] + counts[i - 2] for i > 2.
    result = values.copy()
    if result.size > 3:
        result[3::2] = np.cumsum(values[3::2]) + values[1]
    if result.size > 4:
        result[4::2] = np.cumsum(values[4::2]) + values[2]
    return result
