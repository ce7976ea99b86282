"""Near-duplicate detection: embedding neighbours and character n-gram MinHash propose pairs,
a lexical Jaccard score confirms them, and union-find turns confirmed pairs into groups."""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from auditor.text import normalize

PUNCTUATION = re.compile(r"[^\w\s]+")
MAX_COMPARE_CHARS = 20_000


@dataclass(frozen=True)
class NearParams:
    max_edit_ratio: float = 0.1
    min_edits: int = 1
    embedding_threshold: float = 0.98
    lexical_support: float = 0.5
    ngram: int = 3
    minhash_perm: int = 64
    minhash_threshold: float = 0.5
    minhash_min_chars: int = 1000
    max_bucket: int = 64
    template_share: float = 0.5


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def common_affixes(texts: Sequence[str], share: float, min_chars: int = 16) -> tuple[str, str]:
    """A prefix and a suffix shared by at least `share` of the texts (a prompt template), or ''."""
    def affix(items: list[str]) -> str:
        heads = Counter(t[:min_chars] for t in items if len(t) > min_chars)
        if not heads:
            return ""
        head, count = heads.most_common(1)[0]
        if count < share * len(items):
            return ""
        group = [t for t in items if t.startswith(head)]
        prefix = group[0]
        for t in group[1:]:
            end = 0
            for a, b in zip(prefix, t):
                if a != b:
                    break
                end += 1
            prefix = prefix[:end]
        return prefix if len(prefix) >= min_chars else ""

    items = list(texts)
    prefix = affix(items)
    suffix = affix([t[::-1] for t in items])[::-1]
    return prefix, suffix


def strip_affixes(texts: Iterable[str], prefix: str, suffix: str) -> list[str]:
    out = []
    for t in texts:
        if prefix and t.startswith(prefix):
            t = t[len(prefix):]
        if suffix and t.endswith(suffix) and len(t) > len(suffix):
            t = t[: -len(suffix)]
        out.append(t)
    return out


def ngrams(text: str, n: int) -> frozenset[str]:
    """Character n-grams, interned: a large set shares one string object per distinct n-gram."""
    return frozenset(sys.intern(text[i:i + n]) for i in range(max(1, len(text) - n + 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def words(text: str) -> tuple[str, ...]:
    return tuple(sys.intern(w) for w in PUNCTUATION.sub("", text).split())


def _char_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    return _osa(a, b, limit) <= limit


def _typo_pair(a: str, b: str) -> bool:
    """Two words that differ by a typo: one character edit (two for words of 8+ characters), not a digit."""
    if any(c.isdigit() for c in a + b):
        return False
    return _char_distance_at_most(a, b, 2 if min(len(a), len(b)) >= 8 else 1)


def _osa(a: Sequence, b: Sequence, limit: int, substitution: object = None) -> int:
    """Optimal-string-alignment distance, banded: returns limit + 1 as soon as it must exceed `limit`.

    With `substitution` (a predicate), a substitution of similar items costs 1 and of others 2."""
    n, m = len(a), len(b)
    if abs(n - m) > limit:
        return limit + 1
    big = limit + 1
    previous2: list[int] = []
    previous = list(range(m + 1))
    for i in range(1, n + 1):
        current = [big] * (m + 1)
        current[0] = i
        low, high = max(1, i - limit), min(m, i + limit)
        for j in range(low, high + 1):
            if a[i - 1] == b[j - 1]:
                cost = 0
            elif substitution is None:
                cost = 1
            else:
                cost = 1 if substitution(a[i - 1], b[j - 1]) else 2
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current[max(0, low - 1): high + 1]) > limit:
            return big
        previous2, previous = previous, current
    return min(previous[m], big)


def word_edits(a: tuple[str, ...], b: tuple[str, ...], limit: int) -> int:
    """Word-level edits (a typo'd word, a dropped or added word, two swapped words count 1;
    a different word counts 2), capped at limit + 1."""
    return _osa(a, b, limit, substitution=_typo_pair)


def allowed_edits(a: tuple[str, ...], b: tuple[str, ...], params: NearParams) -> int:
    return max(params.min_edits, int(params.max_edit_ratio * max(len(a), len(b))))


MODULUS = (1 << 61) - 1
BASE = 1_000_003


def deletion_keys(tokens: tuple[str, ...]) -> set[int]:
    """Polynomial hashes of the word sequence and of it with each word deleted in turn: two texts one
    word edit apart (a typo'd, dropped, added or swapped word) always share a key."""
    n = len(tokens)
    values = [hash(w) % MODULUS for w in tokens]
    powers = [1] * (n + 1)
    for i in range(n):
        powers[i + 1] = powers[i] * BASE % MODULUS
    prefix = [0] * (n + 1)
    for i, v in enumerate(values):
        prefix[i + 1] = (prefix[i] * BASE + v) % MODULUS
    keys = {prefix[n]}
    for i in range(n):
        tail = (prefix[n] - prefix[i + 1] * powers[n - i - 1]) % MODULUS
        keys.add((prefix[i] * powers[n - i - 1] + tail) % MODULUS)
    return keys


def _bucket_pairs(buckets: dict[int, list[int]], max_bucket: int) -> set[tuple[int, int]]:
    pairs = set()
    for members in buckets.values():
        if 1 < len(members) <= max_bucket:
            pairs.update((a, b) for x, a in enumerate(members) for b in members[x + 1:])
    return pairs


def deletion_buckets(tokens: Sequence[tuple[str, ...]]) -> dict[int, list[int]]:
    """deletion key -> the items that have it."""
    buckets: dict[int, list[int]] = {}
    for i, words_of in enumerate(tokens):
        for key in deletion_keys(words_of):
            buckets.setdefault(key, []).append(i)
    return buckets


def deletion_pairs(tokens: Sequence[tuple[str, ...]], max_bucket: int) -> set[tuple[int, int]]:
    return _bucket_pairs(deletion_buckets(tokens), max_bucket)


def _sketches(grams: Sequence[frozenset[str]], params: NearParams) -> list[Any]:
    from datasketch import MinHash

    return MinHash.bulk([[g.encode("utf-8") for g in s] for s in grams], num_perm=params.minhash_perm)


def minhash_index(grams: Sequence[frozenset[str]], items: Sequence[int], params: NearParams) -> tuple[Any, list[Any]]:
    """An LSH index over `items` and their sketches."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=params.minhash_threshold, num_perm=params.minhash_perm)
    sketches = _sketches([grams[i] for i in items], params)
    with lsh.insertion_session() as session:
        for item, sketch in zip(items, sketches):
            session.insert(item, sketch)
    return lsh, sketches


def minhash_pairs(grams: Sequence[frozenset[str]], long_items: Sequence[int], params: NearParams) -> set[tuple[int, int]]:
    """Lexical candidates among long texts, where a truncated embedding cannot see the differences."""
    if len(long_items) < 2:
        return set()
    lsh, sketches = minhash_index(grams, long_items, params)
    pairs = set()
    for item, sketch in zip(long_items, sketches):
        pairs.update((min(item, j), max(item, j)) for j in lsh.query(sketch) if j != item)
    return pairs


@dataclass(frozen=True)
class Prepared:
    """Texts ready for lexical comparison: template affixes removed, n-gram sets and word tuples."""

    grams: list[frozenset[str]]
    tokens: list[tuple[str, ...]]
    template: tuple[str, str]
    lengths: list[int]

    def long_items(self, min_chars: int) -> list[int]:
        return [i for i, n in enumerate(self.lengths) if n >= min_chars]


def prepare(texts: Sequence[str], params: NearParams, template: tuple[str, str] | None = None) -> Prepared:
    normal = [normalize(t[: 4 * MAX_COMPARE_CHARS])[:MAX_COMPARE_CHARS] for t in texts]
    prefix, suffix = template if template is not None else common_affixes(normal, params.template_share)
    varying = strip_affixes(normal, prefix, suffix)
    return Prepared([ngrams(t, params.ngram) for t in varying], [words(t) for t in varying], (prefix, suffix),
                    [len(t) for t in varying])


def confirm(a: Prepared, i: int, b: Prepared, j: int, cosine: float, params: NearParams) -> tuple[bool, float, int]:
    """Is (a[i], b[j]) a near-duplicate pair? Returns (verdict, n-gram Jaccard, word edits)."""
    lexical = jaccard(a.grams[i], b.grams[j])
    if lexical < params.lexical_support:
        return False, lexical, -1
    allowed = allowed_edits(a.tokens[i], b.tokens[j], params)
    limit = 2 * allowed if cosine >= params.embedding_threshold else allowed
    edits = word_edits(a.tokens[i], b.tokens[j], limit)
    return edits <= limit, lexical, edits


@dataclass(frozen=True)
class NearResult:
    group: list[int]  # group id (smallest member index) per item
    pairs: list[tuple[int, int, float, float, int]]  # confirmed (i, j, cosine, jaccard, word edits)
    candidates: int
    template: tuple[str, str]


def near_duplicates(texts: Sequence[str], vectors: np.ndarray, embedding_pairs: tuple[np.ndarray, np.ndarray],
                    params: NearParams) -> NearResult:
    """Groups of near-duplicate items. `texts` are raw; `embedding_pairs` (i, j) come from the neighbour graph."""
    prepared = prepare(texts, params)
    candidates = set(zip(embedding_pairs[0].tolist(), embedding_pairs[1].tolist()))
    candidates |= deletion_pairs(prepared.tokens, params.max_bucket)
    candidates |= minhash_pairs(prepared.grams, prepared.long_items(params.minhash_min_chars), params)
    uf = UnionFind(len(texts))
    confirmed = []
    for i, j in candidates:
        cosine = float(vectors[i] @ vectors[j])
        ok, lexical, edits = confirm(prepared, i, prepared, j, cosine, params)
        if ok:
            confirmed.append((i, j, cosine, lexical, edits))
            uf.union(i, j)
    return NearResult([uf.find(i) for i in range(len(texts))], sorted(confirmed), len(candidates), prepared.template)


def cross_matches(query_texts: Sequence[str], base_texts: Sequence[str], query_vectors: np.ndarray,
                  base_vectors: np.ndarray, params: NearParams, candidate_similarity: float,
                  k: int = 10) -> list[tuple[int, int, float, float, int]]:
    """Near-duplicate matches of query items in a base set: (query i, base j, cosine, jaccard, word edits)."""
    from auditor.neighbors import nearest

    base = prepare(base_texts, params)
    query = prepare(query_texts, params, template=base.template)
    index, sims = nearest(query_vectors, base_vectors, k=min(k, len(base_texts)) or 1)
    candidates = {(i, int(j)) for i in range(len(query_texts)) for j, s in zip(index[i], sims[i]) if j >= 0 and s >= candidate_similarity}
    buckets = deletion_buckets(base.tokens)
    for i, tokens in enumerate(query.tokens):
        for key in deletion_keys(tokens):
            members = buckets.get(key, ())
            if len(members) <= params.max_bucket:
                candidates.update((i, j) for j in members)
    long_base, long_query = base.long_items(params.minhash_min_chars), query.long_items(params.minhash_min_chars)
    if long_base and long_query:
        lsh, _ = minhash_index(base.grams, long_base, params)
        for i, sketch in zip(long_query, _sketches([query.grams[i] for i in long_query], params)):
            candidates.update((i, j) for j in lsh.query(sketch))
    matches = []
    for i, j in sorted(candidates):
        cosine = float(query_vectors[i] @ base_vectors[j])
        ok, lexical, edits = confirm(query, i, base, j, cosine, params)
        if ok:
            matches.append((i, j, cosine, lexical, edits))
    return matches


def near_params(config: Mapping[str, Any]) -> NearParams:
    """NearParams from the duplicates check's config section."""
    return NearParams(
        max_edit_ratio=config["max_edit_ratio"],
        min_edits=config["min_edits"],
        embedding_threshold=config["embedding_threshold"],
        lexical_support=config["lexical_support"],
        minhash_threshold=config["minhash_threshold"],
        minhash_min_chars=config["minhash_min_chars"],
        max_bucket=config["max_bucket"],
        template_share=config["template_share"],
    )
