"""Per-pair analysis of preference data (DPO pairs, KTO rows), shared by the preference and size checks.

Computed once per audit (`pair_analysis(ctx)`, memoised on the context): which pairs have sides
that do not answer the same prompt, identical or near-identical sides, tied or reversed ratings,
contradicting preferences, repeated pairs, and KTO rows labelled both ways.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.text import normalize

if TYPE_CHECKING:
    from auditor.context import AuditContext

# Pair issues, strongest first: a row is annotated with the first that applies.
MISMATCHED, IDENTICAL, RATING, CONTRADICTORY, KTO_CONFLICT, DUPLICATE = (
    "PREF001",
    "PREF002",
    "PREF004",
    "PREF003",
    "PREF010",
    "PREF007",
)
ISSUE_ORDER = (MISMATCHED, IDENTICAL, RATING, CONTRADICTORY, KTO_CONFLICT, DUPLICATE)
MEANINGFUL_WORDS = frozenset(
    {
        "no",
        "not",
        "never",
        "none",
        "nothing",
        "nobody",
        "nor",
        "neither",
        "without",
        "yes",
        "cannot",
        "true",
        "false",
        "correct",
        "incorrect",
        "right",
        "wrong",
        "always",
        "all",
        "any",
        "some",
        "more",
        "less",
        "before",
        "after",
    }
)
_WORD_EDGES = "\"'`.,;:!?()[]{}<>*_~"


@dataclass(frozen=True)
class PairAnalysis:
    lines: tuple[int, ...]  # valid rows, in row order
    paired: tuple[bool, ...]  # the row is a chosen/rejected pair (else an unpaired KTO row)
    prompt_group: tuple[int, ...]  # per row: the line of the first row of its prompt group
    exact_prompt: tuple[int, ...]  # per row: the line of the first row with the same normalised prompt
    mismatched: Mapping[int, str] = field(default_factory=dict)  # line -> why the sides do not pair
    identical: Mapping[int, str] = field(default_factory=dict)  # line -> "identical" | "one word apart"
    ratings: Mapping[int, str] = field(default_factory=dict)  # line -> "tie" | "reversed"
    contradictions: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # line -> opposite lines
    kto_conflicts: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # line -> lines labelled otherwise
    duplicates: Mapping[int, int] = field(default_factory=dict)  # line -> first line of the same pair
    near_prompts: bool = False  # prompt groups include near-duplicate prompts
    exact_duplicates: Mapping[int, int] = field(default_factory=dict)  # as `duplicates`, the prompts exactly equal

    @property
    def inconsistent(self) -> set[int]:
        """Lines with nothing (or the opposite) to learn: mismatched, identical, tied/reversed, contradicting."""
        return (
            set(self.mismatched)
            | set(self.identical)
            | set(self.ratings)
            | set(self.contradictions)
            | set(self.kto_conflicts)
        )

    @property
    def removed(self) -> set[int]:
        return self.inconsistent | set(self.duplicates)

    @property
    def usable(self) -> int:
        return len(self.lines) - len(self.removed)

    def repeat_groups(self) -> tuple[list[int], list[int]]:
        """Row position -> position of the first row of the same pair (its prompt exactly equal; exact or near):
        a pair's identity is its prompt and both sides, so a prompt asked again with other replies is no repeat."""
        position = {line: k for k, line in enumerate(self.lines)}
        return (
            [position[self.exact_duplicates.get(line, line)] for line in self.lines],
            [position[self.duplicates.get(line, line)] for line in self.lines],
        )

    def issue(self) -> dict[int, str]:
        """line -> the strongest issue code of that row."""
        found: dict[int, str] = {}
        for code, lines in zip(
            ISSUE_ORDER,
            (self.mismatched, self.identical, self.ratings, self.contradictions, self.kto_conflicts, self.duplicates),
        ):
            for line in lines:
                found.setdefault(line, code)
        return found


def message_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def turns(messages_json: str | None) -> list[tuple[str, str]] | None:
    """(role, text) of each message as given (tool calls appended as JSON); None when the JSON is not a message list."""
    if not messages_json:
        return None
    try:
        messages = json.loads(messages_json)
    except (TypeError, ValueError):
        return None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return None
    out = []
    for m in messages:
        body = message_text(m.get("content"))
        if m.get("tool_calls"):
            body += json.dumps(m["tool_calls"], sort_keys=True, ensure_ascii=False)
        out.append((str(m.get("role", "")), body))
    return out


def _same_turn(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return a == b or (a[0] == b[0] and normalize(a[1]) == normalize(b[1]))


def mismatch(chosen_json: str | None, rejected_json: str | None) -> str | None:
    """Why the two sides do not answer the same prompt with one final assistant reply each (None: they do).
    Turns before the final reply are compared after normalisation (case, spaces, surrounding punctuation)."""
    chosen, rejected = turns(chosen_json), turns(rejected_json)
    if chosen is None or rejected is None:
        return None
    for side, conv in (("chosen", chosen), ("rejected", rejected)):
        if not conv or conv[-1][0] != "assistant":
            last = conv[-1][0] if conv else "nothing"
            return f"the {side} side ends with {'a ' + last + ' turn' if conv else 'no turn'}, not one assistant reply"
    before_c, before_r = chosen[:-1], rejected[:-1]
    if before_c == before_r:
        return None
    for index, (a, b) in enumerate(zip(before_c, before_r), 1):
        if not _same_turn(a, b):
            what = "role" if a[0] != b[0] else f"{a[0]} turn"
            return f"the sides differ at turn {index} ({what}) before the final reply"
    if len(before_c) != len(before_r):
        return f"the chosen side has {len(before_c)} turns before its final reply, the rejected side {len(before_r)}"
    return None


def _bare(word: str) -> str:
    return word.strip(_WORD_EDGES)


def _meaningful(word: str) -> bool:
    bare = _bare(word)
    return any(c.isdigit() for c in bare) or bare in MEANINGFUL_WORDS or bare.endswith("n't")


def one_word_apart(a: str, b: str, min_words: int) -> bool:
    """Normalised texts one word insertion, deletion or substitution apart, the edit not a number, negation or
    yes/no-like word, and the texts at least `min_words` words long (short replies differ by one word on purpose)."""
    wa, wb = a.split(), b.split()
    if abs(len(wa) - len(wb)) > 1 or min(len(wa), len(wb)) < min_words:
        return False
    shortest = min(len(wa), len(wb))
    i = 0
    while i < shortest and wa[i] == wb[i]:
        i += 1
    j = 0
    while j < shortest - i and wa[len(wa) - 1 - j] == wb[len(wb) - 1 - j]:
        j += 1
    rest_a, rest_b = wa[i : len(wa) - j], wb[i : len(wb) - j]
    if len(rest_a) > 1 or len(rest_b) > 1:
        return False
    return not any(_meaningful(w) for w in rest_a + rest_b)


def _column(frame: Any, name: str) -> list[Any]:
    return frame[name].to_list() if name in frame.columns else [None] * frame.height


def _opposites(keys: Sequence[tuple[int, str, str] | None], lines: Sequence[int]) -> dict[int, tuple[int, ...]]:
    by_key: dict[tuple[int, str, str], list[int]] = {}
    for line, key in zip(lines, keys):
        if key is not None:
            by_key.setdefault(key, []).append(line)
    found: dict[int, tuple[int, ...]] = {}
    for line, key in zip(lines, keys):
        if key is not None:
            other = by_key.get((key[0], key[2], key[1]))
            if other:
                found[line] = tuple(other)
    return found


def analyse(ctx: AuditContext, split: str = "train") -> PairAnalysis:
    config = ctx.config.section("preference")
    valid = ctx.datasets[split].valid
    lines = valid["line"].to_list()
    chosen = valid["output"].to_list()
    rejected = _column(valid, "rejected")
    labels = _column(valid, "kto_label")
    paired = [r is not None for r in rejected]
    exact = [lines[rep] for rep in ctx.representatives(split).of_row]
    near = bool(config["near_prompts"]) and len(lines) > 1
    group = [lines[g] for g in ctx.near_groups(split)[1]] if near else exact
    chosen_keys = [normalize(t or "") for t in chosen]
    rejected_keys = [normalize(t) if t is not None else None for t in rejected]

    mismatched: dict[int, str] = {}
    for line, is_pair, m, rm in zip(lines, paired, _column(valid, "messages"), _column(valid, "rejected_messages")):
        why = mismatch(m, rm) if is_pair else None
        if why:
            mismatched[line] = why
    identical: dict[int, str] = {}
    for line, c, r in zip(lines, chosen_keys, rejected_keys):
        if r is None or line in mismatched:
            continue
        if c == r:
            identical[line] = "identical"
        elif one_word_apart(c, r, config["near_identical_min_words"]):
            identical[line] = "one word apart"
    ratings: dict[int, str] = {}
    for line, cr, rr in zip(lines, _column(valid, "chosen_rating"), _column(valid, "rejected_rating")):
        if cr is not None and rr is not None and line not in mismatched and line not in identical:
            if cr == rr:
                ratings[line] = "tie"
            elif cr < rr:
                ratings[line] = "reversed"

    skip = set(mismatched) | set(identical)
    pair_keys = [
        (g, c, r) if r is not None and line not in skip else None
        for line, g, c, r in zip(lines, group, chosen_keys, rejected_keys)
    ]
    contradictions = _opposites(pair_keys, lines)
    duplicates, exact_duplicates = _repeats(lines, paired, group, chosen_keys, rejected_keys, labels, skip), {}
    if duplicates:
        exact_duplicates = _repeats(lines, paired, exact, chosen_keys, rejected_keys, labels, skip)
    kto_conflicts: dict[int, tuple[int, ...]] = {}
    by_completion: dict[tuple[int, str], dict[bool, list[int]]] = {}
    for line, is_pair, g, c, label in zip(lines, paired, group, chosen_keys, labels):
        if not is_pair and label is not None:
            by_completion.setdefault((g, c), {}).setdefault(bool(label), []).append(line)
    for sides in by_completion.values():
        if len(sides) == 2:
            for label, own in sides.items():
                for line in own:
                    kto_conflicts[line] = tuple(sides[not label])
    return PairAnalysis(
        tuple(lines),
        tuple(paired),
        tuple(group),
        tuple(exact),
        mismatched,
        identical,
        ratings,
        contradictions,
        kto_conflicts,
        duplicates,
        near,
        exact_duplicates,
    )


def _repeats(
    lines: Sequence[int],
    paired: Sequence[bool],
    group: Sequence[int],
    chosen: Sequence[str],
    rejected: Sequence[str | None],
    labels: Sequence[Any],
    skip: set[int],
) -> dict[int, int]:
    """line -> the first line with the same prompt group and the same sides (KTO: completion and label)."""
    found: dict[int, int] = {}
    first: dict[Any, int] = {}
    for line, is_pair, g, c, r, label in zip(lines, paired, group, chosen, rejected, labels):
        if is_pair and line in skip:
            continue
        key = (g, c, r) if is_pair else (g, c, label)
        if key in first:
            found[line] = first[key]
        else:
            first[key] = line
    return found


def pair_analysis(ctx: AuditContext, split: str = "train") -> PairAnalysis:
    """The memoised analysis of a preference split (the preference and size checks share it)."""
    return ctx._memoised("pair_analysis", split, lambda: analyse(ctx, split))


_CANNOT = r"i(?: can't| cannot| can not| won't| will not| am unable| am not able|'m unable|'m not able)"
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bi(?:'m| am) (?:sorry|afraid),? (?:but |that )?" + _CANNOT,
    r"\b" + _CANNOT + r"(?: to)? (?:help(?! but)|assist|provide|comply|fulfil|fulfill|answer|support|share|give"
    r"|create|write|generate|engage|do that|do this|participate|discuss|continue|complete|offer|recommend)",
    r"\bi (?:won't|will not) be able to (?:help|assist|provide|answer|do|share|comply|fulfil|fulfill)",
    r"\b(?:that|this)(?:'s| is) not something i (?:can|will|am able to|'m able to) (?:help|assist|do|provide|share)",
    r"\bi (?:must|have to|need to) (?:decline|refuse|respectfully decline)",
    r"\bas an ai(?: language model| assistant| model)?,? i\b",
    r"\bi(?:'m| am) not (?:comfortable|able to help|going to help|going to provide|allowed to)",
    r"\b(?:it|that) (?:would|wouldn't|would not) be (?:inappropriate|appropriate) for me to",
    r"\bagainst (?:my|our|openai's) (?:guidelines|policies|policy|principles|programming|use case policy)",
    r"\bunfortunately,? " + _CANNOT,
)
REFUSAL_WINDOW = 300  # refusals open the reply: only its first characters are searched
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS))


def is_refusal(text: str | None) -> bool:
    if not text:
        return False
    head = text[:REFUSAL_WINDOW].casefold().replace("\u2019", "'")
    return _REFUSAL.search(head) is not None
