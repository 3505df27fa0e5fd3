"""Streaming histograms with fixed fine bins: constant memory, exact count/min/max/mean, quantiles to a bin.

Statistics over every box of a dataset must not hold the boxes: values are binned as they stream by. Fine
bins are linear (fractions in [0, 1]) or log2-spaced (pixels, aspect ratios: 64 bins per octave, so a
quantile is within about 1.1 % of the true value); coarse bins for display are sums of fine ones.

Example:
    >>> histogram = Histogram.linear(0.0, 1.0, bins=100)
    >>> histogram.add(np.arange(1000) / 1000)
    >>> histogram.count, round(histogram.mean, 4), round(histogram.quantile(0.5), 2), histogram.coarse([0, 0.5, 1])
    (1000, 0.4995, 0.5, [(0.0, 0.5, 500), (0.5, 1.0, 500)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Histogram:
    """Counts of values over fine bins ``edges`` (values outside go to the first / last bin)."""

    edges: np.ndarray
    counts: np.ndarray
    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")
    log: bool = False

    @classmethod
    def linear(cls, low: float, high: float, *, bins: int) -> Histogram:
        return cls(np.linspace(low, high, bins + 1), np.zeros(bins, dtype=np.int64))

    @classmethod
    def log2(cls, low: float, high: float, *, bins_per_octave: int = 64) -> Histogram:
        """Bins from ``low`` to ``high`` (powers of two), ``bins_per_octave`` per doubling."""
        first, last = int(np.floor(np.log2(low))), int(np.ceil(np.log2(high)))
        exponents = np.arange(first * bins_per_octave, last * bins_per_octave + 1) / bins_per_octave
        edges = np.exp2(exponents)
        return cls(edges, np.zeros(len(edges) - 1, dtype=np.int64), log=True)

    def add(self, values: np.ndarray) -> None:
        """Count the finite ``values`` (NaN and infinities are skipped)."""
        values = np.asarray(values, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        if not values.size:
            return
        self.count += int(values.size)
        self.total += float(values.sum())
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        bins = np.searchsorted(self.edges, values, side="right") - 1
        np.clip(bins, 0, len(self.counts) - 1, out=bins)
        self.counts += np.bincount(bins, minlength=len(self.counts))

    def merge(self, other: Histogram) -> None:
        """Add the counts of ``other`` (same bins) to this histogram."""
        if other.count:
            self.counts += other.counts
            self.count += other.count
            self.total += other.total
            self.minimum = min(self.minimum, other.minimum)
            self.maximum = max(self.maximum, other.maximum)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def quantile(self, q: float) -> float:
        """The ``q`` quantile, interpolated inside its fine bin (geometrically for log bins), clamped to min/max."""
        if not self.count:
            return float("nan")
        target = q * self.count
        cumulative = np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, target, side="left"))
        index = min(index, len(self.counts) - 1)
        before = cumulative[index - 1] if index else 0
        inside = self.counts[index]
        fraction = (target - before) / inside if inside else 0.0
        low, high = self.edges[index], self.edges[index + 1]
        value = low * (high / low) ** fraction if self.log and low > 0 else low + (high - low) * fraction
        return float(min(max(value, self.minimum), self.maximum))

    def coarse(self, edges: Sequence[float]) -> list[tuple[float, float, int]]:
        """Counts over display bins ``edges`` (each edge snapped to the nearest fine edge); the first and last
        display bins take everything below / above."""
        indices = [int(np.argmin(np.abs(self.edges - edge))) for edge in edges]
        rows = []
        for number, (start, stop) in enumerate(pairwise(indices)):
            if number == 0:
                start = 0
            if number == len(indices) - 2:
                stop = len(self.counts)
            rows.append((float(edges[number]), float(edges[number + 1]), int(self.counts[start:stop].sum())))
        return rows

    def summary(self, display_edges: Sequence[float] | None = None) -> dict[str, Any]:
        """count, min, max, mean, quantiles (p5 … p95) and, with ``display_edges``, a coarse histogram."""
        out: dict[str, Any] = {"count": self.count}
        if self.count:
            out.update(min=self.minimum, max=self.maximum, mean=self.mean)
            out.update({f"p{round(q * 100)}": self.quantile(q) for q in QUANTILES})
        if display_edges is not None:
            out["histogram"] = [
                {"from": low, "to": high, "count": count} for low, high, count in self.coarse(display_edges)
            ]
        return out
