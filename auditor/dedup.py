"""Near-duplicate detection: embedding neighbours and character n-gram MinHash propose pairs,
a lexical Jaccard score confirms them, and union-find turns confirmed pairs into groups."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

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


TEMPLATE_MIN_ROWS = 8


def common_affixes(texts: Sequence[str], share: float, min_chars: int = 16) -> tuple[str, str]:
    """A prefix and a suffix shared by at least `share` of the texts and TEMPLATE_MIN_ROWS of them (a prompt
    template), ending at a word boundary, or ''."""

    def affix(items: list[str]) -> str:
        heads = Counter(t[:min_chars] for t in items if len(t) > min_chars)
        if not heads:
            return ""
        head, count = heads.most_common(1)[0]
        if count < max(share * len(items), TEMPLATE_MIN_ROWS):
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
        if any(len(t) > len(prefix) and not t[len(prefix)].isspace() for t in group) and not prefix[-1:].isspace():
            prefix = prefix[: prefix.rfind(" ") + 1]  # a word the rows do not all share is not template
        return prefix if len(prefix) >= min_chars else ""

    items = list(texts)
    prefix = affix(items)
    suffix = affix([t[::-1] for t in items])[::-1]
    return prefix, suffix


def strip_affixes(texts: Iterable[str], prefix: str, suffix: str) -> list[str]:
    out = []
    for t in texts:
        if prefix and t.startswith(prefix):
            t = t[len(prefix) :]
        if suffix and t.endswith(suffix) and len(t) > len(suffix):
            t = t[: -len(suffix)]
        out.append(t)
    return out


def ngrams(text: str, n: int) -> np.ndarray:
    """Character n-grams as sorted distinct integers (n ≤ 3: each code point packed into 21 bits, no collisions)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < n:
        codes = np.concatenate([codes, np.zeros(n - len(codes), np.uint64)])
    grams = codes[: len(codes) - n + 1].copy()
    with np.errstate(over="ignore"):
        for j in range(1, n):
            grams = (grams << np.uint64(21)) ^ codes[j : len(codes) - n + 1 + j]
    return np.unique(grams)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


_ASCII_PUNCTUATION = {c: None for c in range(128) if not re.match(r"[\w\s]", chr(c))}


def words(text: str) -> tuple[str, ...]:
    """The words of a text with punctuation removed (ASCII text takes a fast path with the same result)."""
    bare = text.translate(_ASCII_PUNCTUATION) if text.isascii() else PUNCTUATION.sub("", text)
    return tuple(map(sys.intern, bare.split()))


def _char_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    return _osa(a, b, limit) <= limit


@lru_cache(maxsize=1 << 16)
def _typo_pair(a: str, b: str) -> bool:
    """Two words that differ by a typo: one character edit (two for words of 8+ characters), not a digit."""
    if any(c.isdigit() for c in a + b):
        return False
    return _char_distance_at_most(a, b, 2 if min(len(a), len(b)) >= 8 else 1)


def _osa(a: Sequence[Any], b: Sequence[Any], limit: int, substitution: Callable[[Any, Any], bool] | None = None) -> int:
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
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return big
        previous2, previous = previous, current
    return min(previous[m], big)


def word_edits(a: tuple[str, ...], b: tuple[str, ...], limit: int) -> int:
    """Word-level edits (a typo'd word, a dropped or added word, two swapped words count 1;
    a different word counts 2), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if len(a) + len(b) > 8 * (limit + 1):
        only_a, only_b = Counter(a), Counter(b)
        only_a.subtract(b)
        only_b.subtract(a)
        # each edit mends at most one unmatched word on each side
        if max(sum(v for v in only_a.values() if v > 0), sum(v for v in only_b.values() if v > 0)) > limit:
            return limit + 1
    return _osa(a, b, limit, substitution=_typo_pair)


def allowed_edits(a: tuple[str, ...], b: tuple[str, ...], params: NearParams) -> int:
    return max(params.min_edits, int(params.max_edit_ratio * max(len(a), len(b))))


MASK = (1 << 64) - 1
BASE = 0x9E3779B97F4A7C15  # odd: invertible modulo 2**64
BASE_INVERSE = pow(BASE, -1, 1 << 64)


def _word_hashes(tokens: tuple[str, ...]) -> np.ndarray:
    return np.array([hash(w) & MASK for w in tokens], dtype=np.uint64)


def deletion_keys(tokens: tuple[str, ...]) -> np.ndarray:
    """Polynomial hashes (mod 2**64) of the word sequence and of it with each word deleted in turn: two texts
    one word edit apart (a typo'd, dropped, added or swapped word) always share a key."""
    n = len(tokens)
    if n == 0:
        return np.zeros(1, np.uint64)
    values = _word_hashes(tokens)
    powers = np.empty(n, np.uint64)
    powers[0] = 1
    with np.errstate(over="ignore"):
        if n > 1:
            powers[1:] = np.cumprod(np.full(n - 1, BASE_INVERSE, np.uint64))
        running = np.concatenate([np.zeros(1, np.uint64), np.cumsum(values * powers, dtype=np.uint64)])
        total = running[n]
        whole = np.uint64(pow(BASE, n - 1, 1 << 64)) * total
        shorter = np.uint64(pow(BASE, n - 2, 1 << 64)) * running[:n] + np.uint64(pow(BASE, n - 1, 1 << 64)) * (
            total - running[1:]
        )
    return np.unique(np.concatenate([[whole], shorter]))


def _pairs_from_keys(keys: np.ndarray, items: np.ndarray, max_bucket: int) -> set[tuple[int, int]]:
    """(i, j), i < j, for items sharing a key held by 2..max_bucket items."""
    if not len(keys):
        return set()
    order = np.argsort(keys, kind="stable")
    keys, items = keys[order], items[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    sizes = np.diff(np.concatenate([starts, [len(keys)]]))
    pairs: set[tuple[int, int]] = set()
    for start, size in zip(
        starts[(sizes > 1) & (sizes <= max_bucket)].tolist(), sizes[(sizes > 1) & (sizes <= max_bucket)].tolist()
    ):
        members = sorted(set(items[start : start + size].tolist()))
        pairs.update((a, b) for x, a in enumerate(members) for b in members[x + 1 :])
    return pairs


def _keyed(tokens: Sequence[tuple[str, ...]], rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    per_row = [deletion_keys(tokens[i]) for i in rows]
    if not per_row:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(per_row), np.repeat(np.asarray(rows, np.int64), [len(k) for k in per_row])


def deletion_pairs(tokens: Sequence[tuple[str, ...]], max_bucket: int, max_words: int = 200) -> set[tuple[int, int]]:
    """Candidate pairs one word edit apart, among texts of at most `max_words` words (longer ones get MinHash)."""
    rows = [i for i, t in enumerate(tokens) if 0 < len(t) <= max_words]
    keys, items = _keyed(tokens, rows)
    return _pairs_from_keys(keys, items, max_bucket)


def _cross_from_keys(
    query_keys: np.ndarray, query_items: np.ndarray, base_keys: np.ndarray, base_items: np.ndarray, max_bucket: int
) -> set[tuple[int, int]]:
    """(query i, base j) sharing a key that 1..max_bucket base items hold."""
    if not len(query_keys) or not len(base_keys):
        return set()
    order = np.argsort(base_keys, kind="stable")
    base_keys, base_items = base_keys[order], base_items[order]
    unique, starts, sizes = np.unique(base_keys, return_index=True, return_counts=True)
    at = np.minimum(np.searchsorted(unique, query_keys), len(unique) - 1)
    hit = (unique[at] == query_keys) & (sizes[at] <= max_bucket)
    pairs: set[tuple[int, int]] = set()
    for i, k in zip(query_items[hit].tolist(), at[hit].tolist()):
        pairs.update((i, j) for j in base_items[starts[k] : starts[k] + sizes[k]].tolist())
    return pairs


def deletion_cross_pairs(
    query: Sequence[tuple[str, ...]], base: Sequence[tuple[str, ...]], max_bucket: int, max_words: int = 200
) -> set[tuple[int, int]]:
    """(query i, base j) one word edit apart; keys held by more than `max_bucket` base items are ignored."""
    base_keys, base_items = _keyed(base, [j for j, t in enumerate(base) if 0 < len(t) <= max_words])
    query_keys, query_items = _keyed(query, [i for i, t in enumerate(query) if 0 < len(t) <= max_words])
    return _cross_from_keys(query_keys, query_items, base_keys, base_items, max_bucket)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads structured keys (packed code points) over 64 bits."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def minhash_signatures(grams: Sequence[np.ndarray], num_perm: int, seed: int = 1) -> np.ndarray:
    """(items, num_perm) MinHash signatures: the minimum of num_perm multiply-add hashes of each item's n-grams."""
    rng = np.random.default_rng(seed)
    multipliers = rng.integers(1, 1 << 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    offsets = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64)
    out = np.empty((len(grams), num_perm), np.uint64)
    with np.errstate(over="ignore"):
        for row, g in enumerate(grams):
            mixed = _mix(g)[:, None]
            out[row] = (mixed * multipliers[None, :] + offsets[None, :]).min(axis=0) if len(g) else 0
    return out


def _bands(params: NearParams) -> tuple[int, int]:
    """(bands, rows per band) whose LSH threshold (1/bands)^(1/rows) is closest to minhash_threshold."""
    options = [(params.minhash_perm // r, r) for r in range(1, params.minhash_perm + 1)]
    return min(options, key=lambda br: (abs((1 / br[0]) ** (1 / br[1]) - params.minhash_threshold), -br[0]))


def _band_keys(signatures: np.ndarray, bands: int, width: int) -> np.ndarray:
    """(items, bands) keys: each band of a signature hashed to one integer (distinct per band)."""
    items = signatures.shape[0]
    cut = signatures[:, : width * bands].reshape(items, bands, width)
    with np.errstate(over="ignore"):
        keys = np.zeros((items, bands), np.uint64)
        for r in range(width):
            keys = _mix(keys ^ cut[:, :, r])
        return keys + np.arange(bands, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)


def word_shingles(tokens: tuple[str, ...], n: int = 3) -> np.ndarray:
    """Distinct hashed word n-grams: unrelated texts share almost none (unlike character 3-grams of English)."""
    values = _word_hashes(tokens)
    if len(values) < n:
        return np.unique(values)
    with np.errstate(over="ignore"):
        out = values[: len(values) - n + 1].copy()
        for j in range(1, n):
            out = out * np.uint64(BASE) + values[j : len(values) - n + 1 + j]
    return np.unique(out)


def minhash_pairs(
    grams: Mapping[int, np.ndarray], long_items: Sequence[int], params: NearParams
) -> set[tuple[int, int]]:
    """Lexical candidates among long texts, where a truncated embedding cannot see the differences: pairs sharing
    a MinHash band (LSH at about minhash_threshold n-gram Jaccard)."""
    if len(long_items) < 2:
        return set()
    bands = _bands(params)
    keys = _band_keys(minhash_signatures([grams[i] for i in long_items], params.minhash_perm), *bands)
    items = np.repeat(np.asarray(long_items, np.int64), bands[0])
    return _pairs_from_keys(keys.reshape(-1), items, params.max_bucket)


def minhash_cross_pairs(
    query_grams: Mapping[int, np.ndarray],
    query_items: Sequence[int],
    base_grams: Mapping[int, np.ndarray],
    base_items: Sequence[int],
    params: NearParams,
) -> set[tuple[int, int]]:
    """(query i, base j) among long texts sharing a MinHash band."""
    if not query_items or not base_items:
        return set()
    bands = _bands(params)
    base_keys = _band_keys(minhash_signatures([base_grams[j] for j in base_items], params.minhash_perm), *bands)
    query_keys = _band_keys(minhash_signatures([query_grams[i] for i in query_items], params.minhash_perm), *bands)
    return _cross_from_keys(
        query_keys.reshape(-1),
        np.repeat(np.asarray(query_items, np.int64), bands[0]),
        base_keys.reshape(-1),
        np.repeat(np.asarray(base_items, np.int64), bands[0]),
        params.max_bucket,
    )


@dataclass(frozen=True)
class Prepared:
    """Texts ready for lexical comparison: the varying part's n-grams and words (template affixes removed),
    and the whole input's words, on which edits are counted."""

    texts: list[str]  # the normalised varying parts
    tokens: list[tuple[str, ...]]
    template: tuple[str, str]
    lengths: list[int]
    full: list[tuple[str, ...]]

    def whole_where_shared(self) -> list[tuple[str, ...]]:
        """The whole input's words for items that had shared text set aside (empty for the others): deletion
        keys on these find a typo inside the shared text."""
        return [f if len(f) != len(t) else () for f, t in zip(self.full, self.tokens)]

    ngram: int = 3
    _grams: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def grams(self, i: int) -> np.ndarray:
        """Character n-grams of item i's varying part, computed when first compared and kept."""
        if i not in self._grams:
            self._grams[i] = ngrams(self.texts[i], self.ngram)
        return self._grams[i]

    def shingles(self, items: Sequence[int]) -> dict[int, np.ndarray]:
        """Hashed word 3-grams of the varying parts of `items` (for MinHash candidates among long texts)."""
        return {i: word_shingles(self.tokens[i]) for i in items}

    def long_items(self, min_chars: int) -> list[int]:
        return [i for i, n in enumerate(self.lengths) if n >= min_chars]


def _normal(text: str) -> str:
    return normalize(text[: 4 * MAX_COMPARE_CHARS])[:MAX_COMPARE_CHARS]


def prepare(
    texts: Sequence[str], params: NearParams, template: tuple[str, str] | None = None, full: Sequence[str] | None = None
) -> Prepared:
    """`texts` are the varying parts of the inputs (auditor.varying); `full` the whole inputs (default: the same)."""
    normal = [_normal(t) for t in texts]
    prefix, suffix = template if template is not None else common_affixes(normal, params.template_share)
    varying = strip_affixes(normal, prefix, suffix)
    tokens = [words(t) for t in varying]
    whole = [tok if v == t else words(t) for tok, v, t in zip(tokens, varying, normal)]
    if full is not None:
        whole = [w if f == v else words(_normal(f)) for f, v, w in zip(full, texts, whole)]
    return Prepared(varying, tokens, (prefix, suffix), [len(t) for t in varying], whole, params.ngram)


def _trimmed(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Both sequences without their common prefix and suffix (this never changes their edit distance)."""
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


def confirm(a: Prepared, i: int, b: Prepared, j: int, cosine: float, params: NearParams) -> tuple[bool, float, int]:
    """Is (a[i], b[j]) a near-duplicate pair? Returns (verdict, n-gram Jaccard, word edits). The n-gram support,
    the edits allowed and the edits are taken from the varying parts (shared preambles and templates set
    aside, as a chat's system prompt is); the edits on the whole inputs are counted too when fewer (a typo
    inside a preamble). When the two had different amounts of shared text set aside, their varying parts
    are not comparable and the n-gram support is not required."""
    lexical = jaccard(a.grams(i), b.grams(j))
    same_shared = len(a.full[i]) - len(a.tokens[i]) == len(b.full[j]) - len(b.tokens[j])
    if lexical < params.lexical_support and same_shared:
        return False, lexical, -1
    allowed = allowed_edits(a.tokens[i], b.tokens[j], params)
    limit = 2 * allowed if cosine >= params.embedding_threshold else allowed
    edits = word_edits(*_trimmed(a.tokens[i], b.tokens[j]), limit)
    if edits > limit and (a.full[i] is not a.tokens[i] or b.full[j] is not b.tokens[j]):
        edits = min(edits, word_edits(*_trimmed(a.full[i], b.full[j]), limit))
    return edits <= limit, lexical, edits


def star_groups(n: int, pairs: Iterable[tuple[int, int]], close: Callable[[int, int], bool] | None = None) -> list[int]:
    """Groups that cannot chain: every member is a confirmed pair with its group's centre. Items with the most
    confirmed partners become centres first; an item whose partners were all taken joins the group of a
    partner that is a centre, or of a partner's centre when `close(item, centre)` confirms the pair, else
    stays alone. Returns the centre per item (itself when alone)."""
    partners: dict[int, list[int]] = {}
    for i, j in pairs:
        partners.setdefault(i, []).append(j)
        partners.setdefault(j, []).append(i)
    group = list(range(n))
    assigned: set[int] = set()
    centres: set[int] = set()
    for centre in sorted(partners, key=lambda c: (-len(partners[c]), c)):
        if centre in assigned:
            continue
        free = sorted(m for m in partners[centre] if m not in assigned)
        if free:
            centres.add(centre)
            assigned.add(centre)
            for member in free:
                group[member] = centre
                assigned.add(member)
            continue
        joined = min((m for m in partners[centre] if m in centres), default=None)
        if joined is None and close is not None:
            joined = next((c for c in sorted({group[m] for m in partners[centre]}) if close(centre, c)), None)
        if joined is not None:
            group[centre] = joined
            assigned.add(centre)
    return group


@dataclass(frozen=True)
class NearResult:
    group: list[int]  # per item: its group's centre (every member was confirmed against it), itself when alone
    pairs: list[tuple[int, int, float, float, int]]  # confirmed (i, j, cosine, jaccard, word edits)
    candidates: int
    template: tuple[str, str]


def near_duplicates(
    texts: Sequence[str],
    vectors: np.ndarray,
    embedding_pairs: tuple[np.ndarray, np.ndarray],
    params: NearParams,
    full: Sequence[str] | None = None,
) -> NearResult:
    """Groups of near-duplicate items. `texts` are the varying parts of the inputs (raw), `full` the whole inputs;
    `embedding_pairs` (i, j) come from the neighbour graph."""
    prepared = prepare(texts, params, full=full)
    candidates = set(zip(embedding_pairs[0].tolist(), embedding_pairs[1].tolist()))
    candidates |= deletion_pairs(prepared.tokens, params.max_bucket)
    candidates |= deletion_pairs(prepared.whole_where_shared(), params.max_bucket)
    long_items = prepared.long_items(params.minhash_min_chars)
    candidates |= minhash_pairs(prepared.shingles(long_items), long_items, params)
    confirmed = []
    for i, j in sorted(candidates):
        cosine = float(vectors[i] @ vectors[j])
        ok, lexical, edits = confirm(prepared, i, prepared, j, cosine, params)
        if ok:
            confirmed.append((i, j, cosine, lexical, edits))

    def close(i: int, j: int) -> bool:
        return confirm(prepared, i, prepared, j, float(vectors[i] @ vectors[j]), params)[0]

    group = star_groups(len(texts), ((i, j) for i, j, *_ in confirmed), close)
    return NearResult(group, confirmed, len(candidates), prepared.template)


def cross_matches(
    query_texts: Sequence[str],
    base_texts: Sequence[str],
    query_vectors: np.ndarray,
    base_vectors: np.ndarray,
    params: NearParams,
    candidate_similarity: float,
    k: int = 10,
    query_full: Sequence[str] | None = None,
    base_full: Sequence[str] | None = None,
) -> list[tuple[int, int, float, float, int]]:
    """Near-duplicate matches of query items in a base set: (query i, base j, cosine, jaccard, word edits).
    `*_texts` are the varying parts of the inputs, `*_full` the whole inputs (default: the same)."""
    from auditor.neighbors import nearest

    base = prepare(base_texts, params, full=base_full)
    query = prepare(query_texts, params, template=base.template, full=query_full)
    index, sims = nearest(query_vectors, base_vectors, k=min(k, len(base_texts)) or 1)
    candidates = {
        (i, int(j))
        for i in range(len(query_texts))
        for j, s in zip(index[i], sims[i])
        if j >= 0 and s >= candidate_similarity
    }
    candidates |= deletion_cross_pairs(query.tokens, base.tokens, params.max_bucket)
    candidates |= deletion_cross_pairs(query.whole_where_shared(), base.whole_where_shared(), params.max_bucket)
    long_query, long_base = query.long_items(params.minhash_min_chars), base.long_items(params.minhash_min_chars)
    candidates |= minhash_cross_pairs(
        query.shingles(long_query), long_query, base.shingles(long_base), long_base, params
    )
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


NEGATIONS = frozenset(
    {
        "no",
        "not",
        "never",
        "none",
        "nothing",
        "without",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "cannot",
        "wont",
        "isnt",
        "arent",
        "wasnt",
        "shouldnt",
        "neither",
        "nor",
    }
)


def near_identical(a: str, b: str, params: NearParams, whole: tuple[str, str] | None = None) -> bool:
    """The same question written twice: the varying inputs `a`, `b` differ only by typos, dropped or added
    words and swapped words (at most max(min_edits, max_edit_ratio × words) edits), never by a word
    replaced with another, a number or a negation. Rows whose inputs differ more may rightly have different
    outputs. With `whole` (the whole inputs), the same test on them, with the same allowance, also counts
    (a typo inside a shared preamble)."""
    ta, tb = words(normalize(a)), words(normalize(b))
    allowed = allowed_edits(ta, tb, params)
    if _only_slips(ta, tb, allowed):
        return True
    return whole is not None and _only_slips(words(normalize(whole[0])), words(normalize(whole[1])), allowed)


def _only_slips(ta: tuple[str, ...], tb: tuple[str, ...], allowed: int) -> bool:
    if ta == tb:
        return True
    only_a, only_b = Counter(ta) - Counter(tb), Counter(tb) - Counter(ta)
    rest_b = list(only_b.elements())
    rest_a = []
    for word in only_a.elements():
        partner = next((w for w in rest_b if _typo_pair(word, w)), None)
        if partner is None:
            rest_a.append(word)
        else:
            rest_b.remove(partner)
    if rest_a and rest_b:
        return False
    if any(any(c.isdigit() for c in w) or w in NEGATIONS for w in rest_a + rest_b):
        return False
    return word_edits(*_trimmed(ta, tb), allowed) <= allowed
