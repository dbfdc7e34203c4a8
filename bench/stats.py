"""Percentiles for the benchmarks, by nearest rank: every figure is one of the samples.

The p-th percentile of n sorted samples is the sample at rank ceil(p/100 * n) (1-based), so
p50, p99 and max all come from the same samples and p99 can never exceed the maximum
(statistics.quantiles interpolates, and with few samples extrapolated above the maximum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> str:
    """``n=90  p50 0.10 ms  p95 ...  p99 ...  max ...`` (milliseconds, nearest rank)."""
    return (
        f"n={len(samples):5d}  p50 {percentile(samples, 50):6.2f} ms  "
        f"p95 {percentile(samples, 95):6.2f} ms  p99 {percentile(samples, 99):6.2f} ms  "
        f"max {max(samples):6.2f} ms"
    )
