"""Label vocabulary: spellings of one label that differ only in case, spacing, punctuation or a typo."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from auditor.dedup import UnionFind, word_edits
from auditor.text import fold_label

MAX_TYPO_LABELS = 2000  # above this many distinct labels only folding is compared (pairs grow quadratically)


def spelling_edits(a: str, b: str, limit: int) -> int:
    """Character edits between two spellings (a transposition counts 1, a changed digit 2), capped at limit + 1."""
    return word_edits(tuple(a), tuple(b), limit)


def allowed_edits(spelling: str, ratio: float, min_chars: int) -> int:
    return 0 if len(spelling) < min_chars else max(1, int(ratio * len(spelling)))


def spelling_groups(labels: Sequence[str], edit_ratio: float, min_chars: int) -> list[list[str]]:
    """Groups of distinct labels that are one label spelled differently, most common spelling first."""
    counts = Counter(labels)
    spellings = sorted(counts, key=lambda s: (-counts[s], s))
    folded = [fold_label(s) for s in spellings]
    forms = sorted(set(folded))
    union = UnionFind(len(forms))
    position = {form: i for i, form in enumerate(forms)}
    for i, a in enumerate(forms if len(forms) <= MAX_TYPO_LABELS else []):
        for b in forms[i + 1 :]:
            limit = min(allowed_edits(a, edit_ratio, min_chars), allowed_edits(b, edit_ratio, min_chars))
            if limit and abs(len(a) - len(b)) <= limit and spelling_edits(a, b, limit) <= limit:
                union.union(position[a], position[b])
    members: dict[int, list[str]] = {}
    for spelling, form in zip(spellings, folded):
        members.setdefault(union.find(position[form]), []).append(spelling)
    return [group for group in members.values() if len(group) > 1]


def canonical_labels(labels: Sequence[str], groups: Sequence[Sequence[str]]) -> list[str]:
    """Every label replaced by the most common spelling of its group."""
    canonical = {spelling: group[0] for group in groups for spelling in group}
    return [canonical.get(label, label) for label in labels]
