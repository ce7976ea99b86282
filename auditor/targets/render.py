"""Chat templates rendered as `apply_chat_template` renders them, with the trained spans of each conversation.

The Jinja environment copies transformers' (`ImmutableSandboxedEnvironment`, `trim_blocks`, `lstrip_blocks`, the
loop-controls extension, a `tojson` filter that keeps non-ASCII, `raise_exception`, `strftime_now`), and renders
with `add_generation_prompt=False`. A template with `{% generation %}` blocks (transformers'
`return_assistant_tokens_mask`) marks its trained text itself. For any other template, assistant turn i is
trained from the end of `render(messages[:i], add_generation_prompt=True)` (TRL's prompt/completion split) —
or, where that is not a prefix of the whole conversation (a template that moves the system prompt, or strips
earlier reasoning), from where its content starts — to the end of the first end-of-turn special token after its
content (the turn's EOS is trained, as Axolotl's `train_on_eos: turn` and LLaMA-Factory's formats do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property, lru_cache
from types import BuiltinMethodType, MethodType
from typing import Any

DICT_ATTRIBUTES = frozenset(dir(dict))
GEN_OPEN, GEN_CLOSE = "\ue000", "\ue001"  # private-use marks around {% generation %} output, removed after rendering


class TemplateError(Exception):
    """The template refused a conversation (raise_exception) or failed on it."""


@dataclass(frozen=True)
class Span:
    start: int  # character offsets into the rendered text
    end: int
    message: int  # index of the assistant message


@dataclass(frozen=True)
class Rendered:
    text: str
    spans: tuple[Span, ...]  # one per assistant message that could be located


@cache
def environment() -> Any:
    from jinja2 import nodes
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.utils import Namespace

    class FastSandbox(ImmutableSandboxedEnvironment):
        """The same sandbox, its verdicts remembered: whether an attribute is safe depends only on the object's type
        and the name (underscores, internal attributes of functions/frames, mutating methods of lists/dicts/sets),
        and a builtin method can carry no `unsafe_callable`/`alters_data` mark."""

        safe_attributes: dict[tuple[type, str], bool] = {}

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            key = (type(obj), attr)
            known = self.safe_attributes.get(key)
            if known is None:
                known = self.safe_attributes[key] = bool(super().is_safe_attribute(obj, attr, value))
            return known

        def is_safe_callable(self, obj: Any) -> bool:
            return type(obj) is BuiltinMethodType or bool(super().is_safe_callable(obj))

        def getattr(self, obj: Any, attribute: str) -> Any:
            kind = type(obj)
            if kind is dict and attribute not in DICT_ATTRIBUTES:  # `message.role`: a key, never an attribute
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            if kind is Namespace and attribute[:1] != "_":  # `ns.index`: what the template stored (unless a method)
                stored = object.__getattribute__(obj, "_Namespace__attrs")
                if attribute not in stored:
                    return self.undefined(obj=obj, name=attribute)
                if type(stored[attribute]) not in (MethodType, BuiltinMethodType):
                    return stored[attribute]
            return super().getattr(obj, attribute)

    class Generation(Extension):
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_mark"), [], [], body).set_lineno(lineno)

        def _mark(self, caller: Any) -> str:
            return f"{GEN_OPEN}{caller()}{GEN_CLOSE}"

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: int | None = None,
        separators: Any = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = FastSandbox(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


@lru_cache(maxsize=64)
def compile_template(source: str) -> Any:
    return environment().from_string(source)


class ChatTemplate:
    """A chat template plus the tokens that end a turn (trained with the turn) and the values it is rendered with."""

    VALIDATED = 2

    def __init__(self, source: str, turn_ends: Iterable[str], variables: Mapping[str, Any]) -> None:
        self.source = source
        self.shapes: dict[tuple[Any, ...], int] = {}  # shape -> rows located both ways and equal; -1: they differed
        self.fast_rows = 0
        self.template = compile_template(source)
        self.turn_ends = tuple(t for t in turn_ends if t)
        self.variables = dict(variables)
        self.marks_generation = "{% generation" in source or "{%- generation" in source

    def render(self, messages: Sequence[Mapping[str, Any]], tools: Any = None, generation_prompt: bool = False) -> str:
        try:
            return str(
                self.template.render(
                    messages=list(messages), tools=tools, add_generation_prompt=generation_prompt, **self.variables
                )
            )
        except TemplateError:
            raise
        except Exception as exc:  # a template failing on a row (a missing key, a type error) names the row, not a crash
            raise TemplateError(f"{type(exc).__name__}: {exc}") from exc

    def render_spans(self, messages: Sequence[Mapping[str, Any]], tools: Any = None) -> Rendered:
        """The conversation rendered once, its assistant turns located. A turn starts where the prefix rendered with
        the generation prompt ends; rather than render that prefix for every turn of every row, the turn starts after
        the k-th occurrence of the text that ends a generation prompt (`header`), when the row has exactly one per
        assistant turn, each before its turn's content; the first `VALIDATED` rows of each conversation shape are
        located both ways and a shape where the two differ is always rendered prefix by prefix."""
        text = self.render(messages, tools)
        assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
        if self.marks_generation:
            return _generation_spans(text, assistants)
        shape = _shape(messages, tools)
        checked = self.shapes.get(shape, 0)
        fast = self._after_headers(text, messages, assistants) if checked >= 0 else None
        if fast is not None and checked >= self.VALIDATED:
            self.fast_rows += 1
            return Rendered(text, fast)
        slow = self._by_prefixes(messages, tools, text, assistants)
        if fast is not None:
            self.shapes[shape] = checked + 1 if fast == slow else -1
        return Rendered(text, slow)

    @cached_property
    def header(self) -> str:
        """What a generation prompt adds after a user turn's content (Llama 3: `<|eot_id|><|start_header_id|>
        assistant<|end_header_id|>\n\n`; Mistral: `[/INST]`); "" when a probe conversation does not show it."""
        mark = "\ue010"
        try:
            probe = self.render([{"role": "user", "content": mark}], generation_prompt=True)
        except TemplateError:
            return ""
        return probe[probe.rindex(mark) + 1 :] if probe.count(mark) == 1 else ""

    def _after_headers(
        self, text: str, messages: Sequence[Mapping[str, Any]], assistants: list[int]
    ) -> tuple[Span, ...] | None:
        header = self.header
        if not header or not assistants or any(header in str(m.get("content") or "") for m in messages):
            return None
        starts: list[int] = []
        position = text.find(header)
        while position >= 0:
            starts.append(position + len(header))
            position = text.find(header, position + len(header))
        if len(starts) != len(assistants):
            return None
        spans: list[Span] = []
        cursor = 0
        for k, (index, start) in enumerate(zip(assistants, starts)):
            content = messages[index].get("content")
            content = content.strip() if isinstance(content, str) else ""
            found = (text.find(content, start) if content else start) if start >= cursor else -1
            if found < 0 or (k + 1 < len(starts) and found + len(content) > starts[k + 1] - len(header)):
                return None
            spans.append(Span(start, self._turn_end(text, found + len(content)), index))
            cursor = spans[-1].end
        return tuple(spans)

    def _by_prefixes(
        self, messages: Sequence[Mapping[str, Any]], tools: Any, text: str, assistants: list[int]
    ) -> tuple[Span, ...]:
        spans: list[Span] = []
        cursor = 0
        for index in assistants:
            span = self._locate(messages, tools, text, index, cursor)
            if span is not None:
                spans.append(span)
                cursor = span.end
        return tuple(spans)

    def _locate(
        self, messages: Sequence[Mapping[str, Any]], tools: Any, text: str, index: int, cursor: int
    ) -> Span | None:
        content = messages[index].get("content")
        content = content.strip() if isinstance(content, str) else ""
        start = -1
        try:
            prefix = self.render(messages[:index], tools, generation_prompt=True) if index else None
        except TemplateError:
            prefix = None
        if prefix is not None and text.startswith(prefix) and len(prefix) >= cursor:
            start = len(prefix)
        found = text.find(content, max(start, cursor)) if content else -1
        if start < 0:
            start = found
        if start < 0:
            return None
        after = found + len(content) if found >= 0 else start
        end = self._turn_end(text, after)
        return Span(start, end, index)

    def _turn_end(self, text: str, after: int) -> int:
        ends = [(pos, token) for token in self.turn_ends if (pos := text.find(token, after)) >= 0]
        if not ends:
            return len(text)
        pos, token = min(ends)
        return pos + len(token)


def _shape(messages: Sequence[Mapping[str, Any]], tools: Any) -> tuple[Any, ...]:
    return (
        tools is not None,
        *(
            (
                m.get("role"),
                bool(m.get("tool_calls")),
                bool(m.get("reasoning_content")),
                "name" in m,
                not m.get("content"),
            )
            for m in messages
        ),
    )


def _generation_spans(marked: str, assistants: list[int]) -> Rendered:
    parts: list[str] = []
    spans: list[Span] = []
    length, position, opened = 0, 0, -1
    for mark in re.finditer(f"[{GEN_OPEN}{GEN_CLOSE}]", marked):
        piece = marked[position : mark.start()]
        parts.append(piece)
        length += len(piece)
        position = mark.end()
        if mark.group() == GEN_OPEN:
            opened = length
        elif opened >= 0:
            spans.append(Span(opened, length, assistants[len(spans)] if len(spans) < len(assistants) else -1))
            opened = -1
    parts.append(marked[position:])
    return Rendered("".join(parts), tuple(spans))
