"""Text from outside (dataset rows, paths, config values, a report.json given to `render`) made inert.

Control characters (terminal escape sequences, carriage returns, C1 controls) and Unicode bidi
controls (which can reorder what a reader sees) are shown as visible `\\x1b` / `\\u202e` escapes.
Each renderer then applies its own syntax escaping on top (rich markup, Markdown, HTML).
"""

from __future__ import annotations

import re
from typing import Any

INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """`str(value)` with every control and bidi character replaced by a visible escape (newlines and tabs kept)."""
    return INVISIBLE.sub(_escape, str(value))


def number(value: Any, spec: str = ",") -> str:
    """A number formatted with `spec`; anything else (a crafted report) as inert text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return visible(value)
