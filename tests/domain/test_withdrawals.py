"""The safety rules of withdrawals (pure): when files gone from a source withdraw nothing."""

from __future__ import annotations

import pytest

from bot.domain.withdrawals import EXEMPT_BELOW, SourceScan, refusal


def scan(found: int = 90, *, unreadable: bool = False, articles: int = 100, gone: int = 10):
    return SourceScan(found, unreadable, articles, gone)


@pytest.mark.parametrize(
    ("source", "allow", "refused"),
    [
        (scan(gone=20), False, None),  # 20% of 100 is not more than 20%
        (scan(gone=21), False, "21 of its 100 articles would be withdrawn"),
        (scan(gone=21), True, None),
        (scan(found=0, gone=100), False, "it is empty"),
        (scan(found=0, gone=100), True, None),
        (scan(unreadable=True), False, "could not be read"),
        (scan(unreadable=True), True, "could not be read"),  # never let through
        (scan(unreadable=True, gone=0), False, None),  # nothing to withdraw: nothing to refuse
        (scan(found=1, articles=EXEMPT_BELOW - 1, gone=EXEMPT_BELOW - 2), False, None),
        (scan(found=1, articles=EXEMPT_BELOW, gone=EXEMPT_BELOW - 1), False, "would be"),
        (scan(found=0, articles=3, gone=3), False, "it is empty"),  # exempt from the limit only
    ],
)
def test_refusal(source: SourceScan, allow: bool, refused: str | None) -> None:
    reason = refusal(source, limit=0.2, allow=allow)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_a_refusal_says_what_to_do() -> None:
    reason = refusal(scan(gone=50), limit=0.2, allow=False)
    assert reason is not None
    assert "ingest.withdraw_limit (20%)" in reason and "--allow-withdrawals" in reason
