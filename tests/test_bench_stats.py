"""The benchmarks' percentiles are samples (nearest rank), never above the maximum."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from stats import percentile


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=200), st.sampled_from([50, 95, 99]))
def test_a_percentile_is_one_of_the_samples_and_at_most_the_maximum(
    samples: list[float], p: int
) -> None:
    value = percentile(samples, p)
    assert value in samples
    assert value <= max(samples)
    assert sum(1 for s in samples if s <= value) >= p / 100 * len(samples)


def test_nearest_rank_on_a_known_list() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99)) == (50.0, 99.0)
    assert percentile([15.27, 1.0, 2.0], 99) == 15.27
