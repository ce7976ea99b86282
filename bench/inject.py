"""Duplicate injection on real texts: exact variants (must normalise to the same key) and near variants."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable

WORD = re.compile(r"[A-Za-z]{4,}")


def case_variant(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.5 else text.lower()


def spacing_variant(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    i = rng.randrange(len(words))
    words[i] = words[i] + rng.choice(["  ", "\t", " \u00a0"])
    return rng.choice(["", " ", "\n"]) + " ".join(words) + rng.choice(["", "  ", "\r\n"])


def unicode_variant(text: str, rng: random.Random) -> str:
    """Compatibility forms that NFKC folds back: fullwidth letters and digits, ligatures, odd spaces."""
    choices = [
        lambda t: "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() and rng.random() < 0.3 else c for c in t),
        lambda t: t.replace("fi", "\ufb01").replace("fl", "\ufb02"),
        lambda t: t.replace(" ", "\u00a0", 2).replace(" ", "\u3000", 1),
        lambda t: (
            unicodedata.normalize("NFD", t)
            if unicodedata.normalize("NFD", t) != t
            else t.replace("'", "\uff07").replace(",", "\uff0c")
        ),
    ]
    variant = rng.choice(choices)(text)
    return variant if variant != text else choices[2](text)


def typo_variant(text: str, rng: random.Random) -> str:
    words = list(WORD.finditer(text))
    if not words:
        return text + "x"
    match = rng.choice(words)
    word = match.group()
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        new = word[:i] + word[i + 1] + word[i] + word[i + 2 :] if i + 1 < len(word) else word[:-1]
    elif kind == "drop":
        new = word[:i] + word[i + 1 :]
    elif kind == "double":
        new = word[:i] + word[i] + word[i:]
    else:
        new = word[:i] + rng.choice("aeiourstln".replace(word[i].lower(), "")) + word[i + 1 :]
    return text[: match.start()] + new + text[match.end() :]


def drop_word_variant(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 4:
        return typo_variant(text, rng)
    del words[rng.randrange(1, len(words))]
    return " ".join(words)


def punctuation_variant(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 3:
        return text.rstrip("?.!") + " !?"
    i = rng.randrange(1, len(words) - 1)
    words[i] = words[i].rstrip(",.;:") + rng.choice([",", ";", " -", ":"])
    return " ".join(words).replace("?", ".").replace("'", "")


def swap_words_variant(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 3:
        return typo_variant(text, rng)
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


EXACT: dict[str, Callable[[str, random.Random], str]] = {
    "case": case_variant,
    "spacing": spacing_variant,
    "unicode": unicode_variant,
}
NEAR: dict[str, Callable[[str, random.Random], str]] = {
    "typo": typo_variant,
    "dropped_word": drop_word_variant,
    "punctuation": punctuation_variant,
    "swapped_words": swap_words_variant,
}
