"""The part of each input that varies: long blocks of text repeated across many rows (a tool description,
a policy, a persona, an Alpaca instruction before every question) are set aside, per row.

A word 4-gram is shared when at least max(`min_rows`, `min_share` × distinct texts) distinct texts contain
it; a run of shared 4-grams covering at least `min_words` consecutive words is a shared block. The ends
of a run are trimmed while their 4-grams occur in under `edge_drop` × the run's median count of rows, so
that a question starting with common words ("What is the") does not lose them to the block before it.
A row's varying text is its original text with its shared blocks cut out (unchanged when it has none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

WORD = re.compile(r"\w+")
SHINGLE = 4
MAX_CHARS = 200_000
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class SharedParams:
    min_rows: int = 8
    min_share: float = 0.01
    min_words: int = 20
    edge_drop: float = 0.8


def shared_params(config: Mapping[str, Any]) -> SharedParams:
    """SharedParams from the duplicates check's config section."""
    return SharedParams(
        config["shared_min_rows"], config["shared_min_share"], config["shared_min_words"], config["shared_edge_drop"]
    )


@dataclass(frozen=True)
class Varying:
    texts: list[str]  # each row's varying text (the original text when nothing is shared)
    shared_words: list[int]  # words set aside per row

    @property
    def rows_with_shared_text(self) -> int:
        return sum(1 for n in self.shared_words if n)


def _keys(text: str) -> list[str]:
    """The words of `text`, lower-cased: runs of word characters (punctuation and spaces separate them)."""
    return WORD.findall(text[:MAX_CHARS].lower())


def _spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the same words in the original text."""
    return [m.span() for m in WORD.finditer(text[:MAX_CHARS])]


def _shingles(ids: np.ndarray) -> np.ndarray:
    n = len(ids) - SHINGLE + 1
    if n <= 0:
        return np.empty(0, np.uint64)
    values = ids.astype(np.uint64)
    with np.errstate(over="ignore"):
        out = values[:n].copy()
        for j in range(1, SHINGLE):
            out = out * _MULTIPLIER + values[j : j + n]
    return out


def _hashes(text: str) -> np.ndarray:
    return _shingles(np.array([hash(w) for w in _keys(text)], dtype=np.int64))


def _row_counts(hashes: Sequence[np.ndarray], own: int) -> np.ndarray:
    """For every shingle position of the first `own` texts: how many of all the texts contain that shingle."""
    lengths = np.array([len(h) for h in hashes], np.int64)
    if not lengths[:own].sum():
        return np.empty(0, np.int64)
    flat = np.concatenate(hashes)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    del flat
    group = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
    del ordered
    inverse = np.empty(len(order), np.int64)
    inverse[order] = group
    del order, group
    pairs = np.sort(inverse * len(hashes) + np.repeat(np.arange(len(hashes), dtype=np.int64), lengths))
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    counts = np.bincount(pairs // len(hashes))
    return counts[inverse[: int(lengths[:own].sum())]]


def _blocks(freq: np.ndarray, params: SharedParams, min_rows: float) -> list[tuple[int, int]]:
    """Word ranges [start, end) of the shared blocks of one row, from its shingles' row counts."""
    frequent = np.concatenate([[False], freq >= min_rows, [False]])
    edges = np.flatnonzero(frequent[1:] != frequent[:-1])
    blocks = []
    for s, e in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if e - s + SHINGLE - 1 < params.min_words:
            continue
        floor = params.edge_drop * float(np.median(freq[s:e]))
        kept = np.flatnonzero(freq[s:e] >= floor)
        lo, hi = s + int(kept[0]), s + int(kept[-1]) + 1
        if (hi - lo) + SHINGLE - 1 >= params.min_words:
            blocks.append((lo, hi + SHINGLE - 1))
    return blocks


def _punctuation(char: str) -> bool:
    return not char.isspace() and not WORD.match(char)


def _cut(text: str, blocks: list[tuple[int, int]]) -> tuple[str, int]:
    spans = _spans(text)
    if len(spans) != len(_keys(text)):
        return text, 0  # lower-casing changed the word boundaries (rare letters): keep the whole text
    pieces, position, removed = [], 0, 0
    for first, last in blocks:
        start, end = spans[first][0], spans[last - 1][1]
        while start > position and _punctuation(text[start - 1]):
            start -= 1
        while end < len(text) and _punctuation(text[end]):
            end += 1
        pieces.append(text[position:start])
        position = end
        removed += last - first
    pieces.append(text[position:])
    kept = "\n".join(p.strip() for p in pieces if p.strip())
    return kept, removed


def varying_texts(
    texts: Sequence[str], params: SharedParams = SharedParams(), reference: Sequence[str] = ()
) -> Varying:
    """Each text without the blocks it shares with at least `min_rows` distinct texts of `texts` + `reference`."""
    distinct: dict[str, int] = {}
    slot = [distinct.setdefault(" ".join(t[:MAX_CHARS].split()).casefold(), len(distinct)) for t in texts]
    first = {k: i for i, k in reversed(list(enumerate(slot)))}
    unique_hashes = [_hashes(texts[first[k]]) for k in range(len(distinct))]
    own = set(distinct)
    others = [t for k, t in {" ".join(t[:MAX_CHARS].split()).casefold(): t for t in reference}.items() if k not in own]
    freq = _row_counts(unique_hashes + [_hashes(t) for t in others], len(unique_hashes))
    min_rows = max(params.min_rows, params.min_share * (len(distinct) + len(others)))
    del others
    bounds = np.cumsum([0] + [len(h) for h in unique_hashes])
    blocks_of: dict[int, list[tuple[int, int]]] = {}
    for k in range(len(unique_hashes)):
        row = freq[bounds[k] : bounds[k + 1]]
        if len(row) and row.max() >= min_rows:
            blocks_of[k] = _blocks(row, params, min_rows)
    out, removed = [], []
    for text, k in zip(texts, slot):
        blocks = blocks_of.get(k)
        if not blocks:
            out.append(text)
            removed.append(0)
            continue
        kept, words = _cut(text, blocks)
        out.append(kept if kept else text)
        removed.append(words if kept else 0)
    return Varying(out, removed)
