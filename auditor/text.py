"""Text normalisation shared by every check that compares texts."""

from __future__ import annotations

import re
import string
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_EDGE_CHARS = string.punctuation + string.whitespace + "\u00a0\u2018\u2019\u201c\u201d\u00bf\u00a1\u2026"


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed, surrounding punctuation and spaces trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", folded).strip(_EDGE_CHARS)


def fold_label(label: str) -> str:
    """A label's spelling-insensitive form: case, spaces, hyphens and punctuation ignored."""
    folded = unicodedata.normalize("NFKC", label).casefold().strip()
    return re.sub(r"[\s\-_.:;,!?'\"/]+", "_", folded).strip("_")


SNIPPET = 70


def snippet(text: str, limit: int = SNIPPET) -> str:
    """`text` on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet_at(text: str, start: int, end: int, limit: int = SNIPPET) -> str:
    """`text` on one line, cut to about `limit` characters so that the span [start, end) of the one-line text shows."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = max(limit - (end - start), 0)
    left = max(0, min(start - room // 3, len(text) - limit))
    right = min(len(text), max(end + (room - (start - left)), left + limit))
    if end - start > limit:
        right = left + limit
    return ("…" if left else "") + text[left:right].strip() + ("…" if right < len(text) else "")


def differing_words(a: str, b: str) -> tuple[list[str], list[str], int, int]:
    """Both texts as words, and the counts of leading and trailing words they share (compared case-insensitively)."""
    wa, wb = a.split(), b.split()
    fa, fb = [w.casefold() for w in wa], [w.casefold() for w in wb]
    head = 0
    while head < min(len(wa), len(wb)) and fa[head] == fb[head]:
        head += 1
    tail = 0
    while tail < min(len(wa), len(wb)) - head and fa[len(fa) - 1 - tail] == fb[len(fb) - 1 - tail]:
        tail += 1
    return wa, wb, head, tail


def snippet_where_differs(text: str, other: str, limit: int = SNIPPET) -> str:
    """`text` on one line, cut to about `limit` characters around the first words where it differs from `other`."""
    words, _, head, tail = differing_words(text, other)
    start = len(" ".join(words[:head])) + (1 if head else 0)
    end = max(start, len(" ".join(words[: len(words) - tail])))
    return snippet_at(text, start, end, limit)


def diff_snippet(a: str, b: str, limit: int = SNIPPET) -> str:
    """One line showing where `b` differs from `a`: the shared words around the difference, then
    [-what a has-]{+what b has+}, cut to about `limit` characters of context."""
    wa, wb, head, tail = differing_words(a, b)
    removed, added = " ".join(wa[head : len(wa) - tail]), " ".join(wb[head : len(wb) - tail])
    if not removed and not added:
        return snippet(a, limit)
    middle = (f"[-{snippet(removed, limit // 2)}-]" if removed else "") + (
        f"{{+{snippet(added, limit // 2)}+}}" if added else ""
    )
    budget = max(limit - len(middle), 20)
    before = " ".join(wa[:head])
    after = " ".join(wa[len(wa) - tail :]) if tail else ""
    keep_before = before
    if len(before) > budget // 2:
        keep_before = before[-(budget // 2) :]
        keep_before = keep_before.split(" ", 1)[1] if " " in keep_before else keep_before
    keep_after = after
    if len(after) > budget - len(keep_before):
        keep_after = after[: budget - len(keep_before)]
        keep_after = keep_after.rsplit(" ", 1)[0] if " " in keep_after else keep_after
    text = ("…" if len(keep_before) < len(before) else "") + keep_before + (" " if keep_before else "") + middle
    return text + (" " + keep_after if keep_after else "") + ("…" if len(keep_after) < len(after) else "")


def groups_of(assignment: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for row, group in enumerate(assignment):
        members.setdefault(group, []).append(row)
    return {g: rows for g, rows in members.items() if len(rows) > 1}
