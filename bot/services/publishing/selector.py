"""What a subscription's next run would post, what could go later, and why not the rest.

The rules are ``bot.domain.selection`` (pure); the candidates come from the store's planner.
The run, the moderators' preview, ``newsdesk status`` and the dry run all ask here, so they
never disagree about what would go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.selection import Candidate, Policy, Selection, Skip, reasons, rule_out, select
from bot.domain.subscription import Subscription, SubscriptionSpec
from bot.store.candidates import CandidateQueries

# A run looks at this many candidates beyond max_per_run (some are dropped by the same-story
# rule, which needs each candidate's links).
LOOKAHEAD = 10
ELIGIBLE_CAP = 100  # status counts eligible articles up to this
RECENT_LOOK = 30  # newest articles of the topics the preview explains
NEAR_MISSES = 12


@dataclass(frozen=True, slots=True)
class Explanation:
    selection: Selection
    # the articles closest to going, each with every rule that keeps it out
    near_misses: list[tuple[Candidate, tuple[Skip, ...]]]


class Selector:
    def __init__(self, candidates: CandidateQueries, *, respect_source_published: bool) -> None:
        self.candidates = candidates
        self.respect_source_published = respect_source_published

    def policy(self, spec: SubscriptionSpec) -> Policy:
        return Policy.of(spec, respect_source_published=self.respect_source_published)

    async def next_run(self, sub: Subscription, now: datetime) -> Selection:
        """What the next run would post (and why the other candidates would not)."""
        policy = self.policy(sub.spec)
        found = await self.candidates.candidates(
            sub.channel_id,
            policy,
            now,
            limit=policy.max_per_run * 3 + LOOKAHEAD,
            guild=sub.guild_id,
        )
        return select(found, policy, now)

    async def eligible(self, sub: Subscription, now: datetime, cap: int = ELIGIBLE_CAP) -> int:
        """How many articles could go to the channel now (in this run or later ones), up to
        ``cap``."""
        policy = self.policy(sub.spec)
        found = await self.candidates.candidates(
            sub.channel_id, policy, now, limit=cap, guild=sub.guild_id
        )
        return sum(1 for c in found if rule_out(c, policy, now) is None)

    async def explain(self, sub: Subscription, now: datetime) -> Explanation:
        """The next run's picks, and why the newest other articles of its topics stay out."""
        policy = self.policy(sub.spec)
        selection = await self.next_run(sub, now)
        misses: list[tuple[Candidate, tuple[Skip, ...]]] = [
            (c, tuple(reasons(c, policy, now)) or (r,))
            for c, r in selection.skipped
            if r is not Skip.RUN_FULL
        ]
        seen = {c.article_id for c in selection.chosen} | {c.article_id for c, _ in misses}
        recent = await self.candidates.recent(
            sub.channel_id, sub.spec.topics, RECENT_LOOK, guild=sub.guild_id
        )
        for candidate in recent:
            found = reasons(candidate, policy, now)
            if candidate.article_id not in seen and found:
                misses.append((candidate, tuple(found)))
        misses += [(c, (r,)) for c, r in selection.skipped if r is Skip.RUN_FULL]
        return Explanation(selection, misses[:NEAR_MISSES])
