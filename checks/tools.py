"""Tools: tool calls in chat, ShareGPT, Gemini and Bedrock rows are consistent with the row's tool definitions.

What it checks
  For each row with tool calls or tool definitions: every called function is defined in the row's
  `tools` (or legacy `functions`, Gemini `functionDeclarations`, Bedrock `toolSpec`); its arguments
  validate against that tool's `parameters` JSON Schema (jsonschema); every tool message answers an
  earlier call (by `tool_call_id`, or by name where the format has no ids) and every call is
  answered before the next assistant turn; a tool name has one definition across the set; legacy
  `functions`/`function_call` are not mixed with `tools`/`tool_calls`. Arguments that are not JSON
  at all are already malformed rows (FMT008).

Why it matters
  The model learns to call what the examples call: a call to an undefined function, arguments the
  schema rejects, or a tool result with no call teach invented tools and broken arguments, and
  providers reject such rows at upload.

Failing example
  drone.jsonl:12: calls 'fly_to_moon', which the row's tools do not define (defined: land_drone, …)

How to fix
  Add the missing definition or correct the call; make the arguments match the schema; give each
  tool message the `tool_call_id` of the call it answers; keep one definition per tool name; move
  legacy `functions` to `tools`.

Config ([tools] in ftaudit.toml)
  max_rows_named = 0   0 = name every row; otherwise at most this many rows per finding

Codes
  TOOL001 call to a function the row does not define · TOOL002 arguments break the tool's schema
  TOOL003 tool message answering no earlier call · TOOL004 call not answered before the next assistant turn
  TOOL005 one tool name with different definitions across rows · TOOL006 legacy functions mixed with tools
  TOOL007 tool calls in a row that defines no tools
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext
    from auditor.load import Dataset

ID = "tools"
FAMILY = "TOOL"
CODES = {
    "TOOL001": "call to a function the row's tools do not define",
    "TOOL002": "tool-call arguments do not match the tool's parameters schema",
    "TOOL003": "tool message answering no earlier call",
    "TOOL004": "tool call not answered before the next assistant turn",
    "TOOL005": "one tool name with different definitions across rows",
    "TOOL006": "legacy functions/function_call mixed with tools/tool_calls",
    "TOOL007": "tool calls in a row that defines no tools",
}
DEFAULTS: dict[str, Any] = {"max_rows_named": 0}
SEVERITY = {"TOOL005": "warning", "TOOL006": "warning", "TOOL007": "warning"}


def definitions(tools: Any) -> dict[str, Any]:
    """name -> parameters schema (None when not given), from any supported tools shape."""
    found: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        for decl in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            if isinstance(decl, Mapping) and isinstance(decl.get("name"), str):
                found[decl["name"]] = decl.get("parameters")
        spec = tool.get("function") or tool.get("toolSpec") or tool
        if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
            schema = spec.get("parameters", spec.get("inputSchema"))
            found[spec["name"]] = schema.get("json") if isinstance(schema, Mapping) and "json" in schema else schema
    return found


def schema_errors(schema: Any, arguments: str, cache: dict[str, Any]) -> str | None:
    import jsonschema

    if not isinstance(schema, Mapping):
        return None
    key = json.dumps(schema, sort_keys=True)
    if key not in cache:
        try:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            cache[key] = cls(schema)
        except jsonschema.SchemaError:
            cache[key] = None
    validator = cache[key]
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return "arguments are not valid JSON"
    if validator is None:
        return None
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at {path})" if path else "")


def row_problems(
    messages: list[dict[str, Any]], defined: dict[str, Any] | None, cache: dict[str, Any]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    pending: list[dict[str, Any]] = []
    issued_ids: set[str] = set()
    for m in messages:
        if m["role"] == "assistant":
            if pending:
                names = ", ".join(sorted({c["function"]["name"] for c in pending}))
                problems.append(("TOOL004", f"call(s) to {names} not answered before the next assistant turn"))
                pending = []
            for c in m["tool_calls"] or []:
                name = c["function"]["name"]
                if defined is None:
                    problems.append(("TOOL007", f"calls '{name}' but the row defines no tools"))
                elif name not in defined:
                    shown = ", ".join(sorted(defined)[:6]) or "none"
                    reason = f"calls '{name}', which the row's tools do not define (defined: {shown})"
                    problems.append(("TOOL001", reason))
                else:
                    error = schema_errors(defined[name], c["function"]["arguments"], cache)
                    if error:
                        problems.append(("TOOL002", f"arguments of '{name}' break its schema: {error}"))
                pending.append(c)
                if c.get("id"):
                    issued_ids.add(c["id"])
        elif m["role"] == "tool":
            answer = m.get("tool_call_id")
            match = next(
                (
                    c
                    for c in pending
                    if (answer and c.get("id") == answer)
                    or (not answer and (not m.get("name") or c["function"]["name"] == m.get("name")))
                ),
                None,
            )
            if match is not None:
                pending.remove(match)
            elif answer and answer in issued_ids:
                continue
            else:
                what = f"tool_call_id '{answer}'" if answer else f"'{m.get('name') or 'unnamed'}'"
                problems.append(("TOOL003", f"a tool message ({what}) answers no earlier call"))
    return problems


def legacy_mix(row: Mapping[str, Any], messages: list[dict[str, Any]]) -> bool:
    keys = set((row.get("record_keys") or "").split(","))
    calls = [c for m in messages for c in (m["tool_calls"] or [])]
    legacy = (
        "functions" in keys
        or any(c.get("legacy") for c in calls)
        or any(m.get("source_role") == "function" for m in messages)
    )
    modern = (
        "tools" in keys
        or any(not c.get("legacy") for c in calls if c.get("id"))
        or any(m["role"] == "tool" and m.get("source_role") is None for m in messages)
    )
    return legacy and modern


def check_dataset(dataset: Dataset, cap: int) -> list[Finding]:
    by_code: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    places: dict[int, str] = {}
    shapes: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    cache: dict[str, Any] = {}
    valid = dataset.valid
    for row in valid.select("line", "file", "file_line", "messages", "tools", "record_keys").iter_rows(named=True):
        text = row["messages"]
        if not text or (row["tools"] is None and '"tool_calls":[' not in text and '"role":"tool"' not in text):
            continue
        messages = json.loads(row["messages"])
        tools = json.loads(row["tools"]) if row["tools"] else None
        defined = definitions(tools) if tools else None
        for name, schema in (defined or {}).items():
            shapes[name][json.dumps(schema, sort_keys=True)].append(row["line"])
        problems = row_problems(messages, defined, cache)
        if legacy_mix(row, messages):
            problems.append(("TOOL006", "legacy functions/function_call mixed with tools/tool_calls"))
        for code, reason in problems:
            places[row["line"]] = f"{row['file']}:{row['file_line']}"
            by_code[code][reason].append(row["line"])
    findings = []
    for code, reasons in by_code.items():
        for reason, lines in reasons.items():
            lines = sorted(set(lines))
            named = lines[:cap] if cap else lines
            shown = ", ".join(places[n] for n in named[:5]) + (f" (+{len(lines) - 5} more)" if len(lines) > 5 else "")
            findings.append(
                Finding(
                    code,
                    SEVERITY.get(code, "error"),
                    f"{shown}: {reason}",
                    tuple(named),
                    {"rows": len(lines)},
                    dataset.split,
                )
            )
    for name, variants in shapes.items():
        if len(variants) > 1:
            common = Counter({k: len(v) for k, v in variants.items()}).most_common(1)[0][0]
            odd = sorted(n for k, v in variants.items() if k != common for n in v)
            message = (
                f"{dataset.path.name}: tool '{name}' has {len(variants)} different definitions; "
                f"{len(odd)} row(s) differ from the most common one"
            )
            findings.append(
                Finding(
                    "TOOL005",
                    "warning",
                    message,
                    tuple(odd[:cap] if cap else odd),
                    {"tool": name, "definitions": len(variants)},
                    dataset.split,
                )
            )
    return findings


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    findings: list[Finding] = []
    for split in ("train", "eval"):
        dataset = ctx.datasets.get(split)
        if dataset is not None and "messages" in dataset.frame.columns:
            findings += check_dataset(dataset, int(config["max_rows_named"]))
    train = ctx.datasets["train"]
    with_calls = int(train.valid["tool_calls"].fill_null(False).sum()) if train.valid.height else 0
    if not findings and not with_calls and train.valid.filter(train.valid["tools"].is_not_null()).height == 0:
        return CheckResult(ID, "skipped", "no tool calls or tool definitions in the set")
    rows = sorted({n for f in findings if f.split == "train" for n in f.rows})
    status = "fail" if any(f.severity == "error" for f in findings) else ("warn" if findings else "pass")
    summary = (
        f"{len(rows)} training row(s) with tool-call problems"
        if findings
        else "every tool call names a defined function with valid arguments and is answered in order"
    )
    metrics = {"rows_with_problems": len(rows), "rows_with_tool_calls": with_calls}
    return CheckResult(ID, status, summary, metrics, tuple(findings))
