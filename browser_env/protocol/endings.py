"""Why an episode ended."""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    """How an episode ended. ``End: Answer`` and the declines terminate it; a budget truncates it;
    ``abandoned`` means the policy (or the person) stopped without a command that ends it."""

    ANSWER = "answer"
    NONSENSE = "nonsense"
    CONTROVERSIAL = "controversial"
    ACTION_BUDGET = "action_budget"
    QUOTE_BUDGET = "quote_budget"
    ABANDONED = "abandoned"

    @property
    def terminated(self) -> bool:
        return self in (EndReason.ANSWER, EndReason.NONSENSE, EndReason.CONTROVERSIAL)

    @property
    def truncated(self) -> bool:
        return self in (EndReason.ACTION_BUDGET, EndReason.QUOTE_BUDGET)

    @property
    def declined(self) -> bool:
        return self in (EndReason.NONSENSE, EndReason.CONTROVERSIAL)

    @property
    def budget(self) -> bool:
        return self.truncated


DECLINE_REASONS = (EndReason.NONSENSE, EndReason.CONTROVERSIAL)
