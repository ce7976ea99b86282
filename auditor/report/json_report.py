"""JSON renderer: the report dictionary, as is (the public contract)."""
from __future__ import annotations

import json
from typing import Any, Mapping


def render(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
