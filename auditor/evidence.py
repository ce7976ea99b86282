"""Typed evidence: exactly what the ruling may read from each check.

A check that moves the ruling sets one of these frozen dataclasses as `CheckResult.evidence`;
`auditor.verdict.decide` reads only these types (never metric names, never check ids). The JSON
report writes each as `checks[].evidence` through `to_dict()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Evidence:
    """Base of every evidence type: a frozen dataclass that serialises itself."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        return {"kind": type(self).__name__, **_plain(data)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class FormatEvidence(Evidence):
    """Whether the training file could be read, and which of its lines are malformed."""

    rows_read: int
    rows_valid: int
    invalid_lines: tuple[int, ...]
    invalid_share: float
    max_invalid_share: float
    unusable: bool  # nothing valid, or more than max_invalid_share malformed
    reason: str = ""


@dataclass(frozen=True)
class SizeThresholds:
    minimum_from: int = 100
    preferred_from: int = 500
    strong_from: int = 1000


@dataclass(frozen=True)
class SizeEvidence(Evidence):
    """Usable examples (valid, de-duplicated, with something to learn) and the tier they reach."""

    usable: int
    tier: str  # insufficient | minimum | preferred | strong
    rows_valid: int
    thresholds: SizeThresholds
    removed_duplicates: int = 0
    removed_untrainable: int = 0  # rows with no trained tokens after truncation and masking
    removed_unpaired: int = 0  # preference pairs with nothing to learn (identical, contradictory, mismatched)
    unit: str = "examples"  # "pairs" for preference data
    thin_labels: tuple[tuple[str, int], ...] = ()
    min_examples_per_label: int = 0
    labels: int = 0


@dataclass(frozen=True)
class Inconsistency:
    """One kind of inconsistency with the number of rows it touches."""

    what: str  # e.g. "rows with conflicting labels"
    rows: int


@dataclass(frozen=True)
class StepHint:
    """A next step a check proposes, with the lines it names (the ruling orders and words them)."""

    code: str
    text: str
    lines: tuple[int, ...] = ()
    rows: int = 0  # how many rows fixing it would repair (orders the steps)


@dataclass(frozen=True)
class ConsistencyEvidence(Evidence):
    """Label / output / preference-pair consistency: the share of rows the ruling counts as inconsistent."""

    source: str  # "labels" (classification), "outputs" (generative), "preference" (pairs)
    rows_checked: int
    inconsistent_rows: int
    parts: tuple[Inconsistency, ...] = ()
    single_label: str | None = None  # every row carries this one label: nothing to discriminate
    still_improving: bool = False
    learning_curve: tuple[float, ...] = ()
    steps: tuple[StepHint, ...] = ()

    @property
    def share(self) -> float:
        return self.inconsistent_rows / self.rows_checked if self.rows_checked else 0.0


@dataclass(frozen=True)
class UncoveredCluster:
    id: int
    size: int
    share: float
    examples_to_collect: int
    example: str
    nearest_label: str | None = None  # nearest training label or cluster name
    sibling: bool = False  # looks like a sibling of a covered label rather than a new topic


@dataclass(frozen=True)
class CoverageEvidence(Evidence):
    """Share of production inputs the training set teaches, with its interval and the gaps."""

    coverage: float
    ci_low: float
    ci_high: float
    sample_size: int
    production_rows: int
    uncovered: tuple[UncoveredCluster, ...] = ()


@dataclass(frozen=True)
class DuplicatesEvidence(Evidence):
    duplicate_rows: int
    duplicate_rate: float
    max_duplicate_rate: float
    eval_rows: int = 0
    eval_leaked_lines: tuple[int, ...] = ()  # eval lines that also appear in training
    production_seen_in_train: int = 0

    @property
    def too_many(self) -> bool:
        return self.duplicate_rate > self.max_duplicate_rate


@dataclass(frozen=True)
class TokensEvidence(Evidence):
    """What will actually be trained for the target: lengths, truncation, cost, break-even."""

    target: str
    rows: int
    p50: int
    p90: int
    max: int
    max_seq_len: int
    training_tokens: int
    epochs: int
    cost_usd: float
    price_per_million: float
    over_limit_lines: tuple[int, ...] = ()  # longer than max_seq_len
    truncated_lines: tuple[int, ...] = ()  # trained tokens cut by truncation
    dropped_lines: tuple[int, ...] = ()  # dropped by the trainer's truncation mode
    untrainable_lines: tuple[int, ...] = ()  # trained tokens before truncation, none left after it (dropped included)
    masked_lines: tuple[int, ...] = ()  # nothing to learn whatever the limit: every assistant turn masked (weight 0)
    monthly_volume: int | None = None
    monthly_tokens_saved: int | None = None
    break_even_months: float | None = None  # None with savings known = never pays back
    horizon_months: float = 12.0  # break-even later than this does not repay training

    @property
    def pays_back(self) -> bool | None:
        """None when savings are unknown (no monthly_volume/current_prompt_tokens in the context)."""
        if self.monthly_tokens_saved is None:
            return None
        return self.break_even_months is not None and self.break_even_months <= self.horizon_months

    @property
    def lost_lines(self) -> tuple[int, ...]:
        """Rows that lose trained tokens to the sequence limit (cut, dropped or left with nothing); a masked row has
        none to lose (it comes off the usable count through size instead)."""
        hit = set(self.truncated_lines) | set(self.dropped_lines) | set(self.untrainable_lines)
        return tuple(sorted(hit - set(self.masked_lines)))

    @property
    def truncated_share(self) -> float:
        return len(self.lost_lines) / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class SensitiveEvidence(Evidence):
    """Personal data and secrets found; `blocking` kinds (keys, cards, private keys) block by default."""

    kinds: tuple[tuple[str, int], ...]
    lines: tuple[int, ...]
    blocking_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapEvidence(Evidence):
    """A generic cap any check may propose (provider rules, tool-call lint...): the ruling applies it as is."""

    ceiling: str  # blocked | keep-prompting | pilot
    reason: str
    steps: tuple[StepHint, ...] = field(default_factory=tuple)
