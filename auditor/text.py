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


def groups_of(assignment: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for row, group in enumerate(assignment):
        members.setdefault(group, []).append(row)
    return {g: rows for g, rows in members.items() if len(rows) > 1}
