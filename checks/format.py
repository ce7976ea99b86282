"""Format: every record is readable, complete and within bounds.

What it checks
  Each line of every file given (training, eval, production) is parsed in the detected format
  (chat, prompt/completion or question/answer, instruction, text/label classification, or an
  explicit field mapping). A Great Expectations suite then validates the normalised rows:
  required columns present and non-null, line numbers unique, chat roles valid, outputs
  non-empty, and input/output lengths within bounds. OpenAI cookbook conventions are checked
  too: chat rows without a system message, and over-long outputs.

Why it matters
  A malformed row is silently dropped or rejected by a fine-tuning API; a set with many of them
  is smaller than it looks. Over-long replies are truncated in training and teach the model to
  ramble; a missing system message where the others have one trains two behaviours.

Failing example
  toy_chat_fine_tuning.jsonl:4: no user message
  {"messages": [{"role": "system", "content": "..."}, {"role": "assistant", "content": "You're great!"}]}

How to fix
  Repair or delete the lines named in the findings; give every chat row the same system
  message; cut or split replies longer than `max_output_chars`. Blank lines, a BOM and CRLF
  line endings are accepted and need no fixing.

Config ([format] in ftaudit.toml)
  max_invalid_share = 0.10   share of malformed training rows above which the check fails
                             (and the ruling is `blocked`)
  max_output_chars = 16000   longest acceptable output (about 4,000 tokens)
  max_input_chars = 64000    longest acceptable input (about 16,000 tokens)
  use_great_expectations = true   run the suite with Great Expectations (false: the same
                                  expectations evaluated in polars, ~3 s faster; `ftaudit gate`
                                  uses that unless gate.full_diagnostics = true)

Codes
  FMT001 invalid JSON · FMT002 not a JSON object · FMT003 missing, null or mistyped field
  FMT004 chat record without a user or assistant turn · FMT005 not valid UTF-8
  FMT006 unknown chat role · FMT007 empty input or output · FMT008 tool-call arguments not JSON
  FMT009 JSON array instead of JSON Lines · FMT010 normalised rows break a structural expectation
  FMT011 chat rows without a system message · FMT012 output over max_output_chars
  FMT013 input over max_input_chars · FMT014 too many malformed rows
  FMT015 a record in another format than the rest of the file (mixed formats)
  FMT016 an implicit-prompt preference row whose chosen and rejected sides share no prompt (they part before
         any shared user turn): no pair can be formed; sides that share the prompt and part later load as a
         pair and the preference check reports them (PREF001)
  FMT017 rows with image/audio/file parts: counted and reported, not embedded or checked (info)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.evidence import FormatEvidence
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext
    from auditor.load import Dataset

ID = "format"
FAMILY = "FMT"
CODES = {
    "FMT001": "invalid JSON",
    "FMT002": "record is not a JSON object",
    "FMT003": "missing, null or mistyped field",
    "FMT004": "chat record without a user or assistant turn",
    "FMT005": "line is not valid UTF-8",
    "FMT006": "unknown chat role",
    "FMT007": "empty input or output",
    "FMT008": "tool-call arguments are not valid JSON",
    "FMT009": "file is a JSON array, not JSON Lines",
    "FMT010": "normalised rows break a structural expectation",
    "FMT011": "chat rows without a system message",
    "FMT012": "output longer than max_output_chars",
    "FMT013": "input longer than max_input_chars",
    "FMT014": "too many malformed rows",
    "FMT015": "record in a different format from the rest of the file",
    "FMT016": "preference row whose chosen and rejected sides share no prompt",
    "FMT017": "image or file parts counted, not audited",
}
DEFAULTS: dict[str, Any] = {
    "max_invalid_share": 0.10,
    "max_output_chars": 16000,
    "max_input_chars": 64000,
    "use_great_expectations": True,
}
ROLES_PATTERN = (
    r"^(?:system|developer|user|assistant|tool|function)(?:,(?:system|developer|user|assistant|tool|function))*$"
)


def expectations(dataset: Dataset, config: Mapping[str, Any]) -> list[Any]:
    from auditor.expectations import Expectation

    has_output = dataset.split != "production"
    suite = [
        Expectation("FMT010:line", "ExpectColumnValuesToBeUnique", {"column": "line"}),
        Expectation("FMT010:input", "ExpectColumnValuesToNotBeNull", {"column": "input"}),
        Expectation(
            "FMT013",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "input", "min_value": 1, "max_value": config["max_input_chars"]},
        ),
    ]
    if has_output:
        suite += [
            Expectation("FMT010:output", "ExpectColumnValuesToNotBeNull", {"column": "output"}),
            Expectation("FMT010:output-blank", "ExpectColumnValuesToMatchRegex", {"column": "output", "regex": r"\S"}),
            Expectation(
                "FMT012",
                "ExpectColumnValueLengthsToBeBetween",
                {"column": "output", "min_value": 1, "max_value": config["max_output_chars"]},
            ),
        ]
    if dataset.task == "classification":
        suite.append(Expectation("FMT010:label", "ExpectColumnValuesToNotBeNull", {"column": "label"}))
    if dataset.format == "chat":
        suite.append(
            Expectation("FMT010:roles", "ExpectColumnValuesToMatchRegex", {"column": "roles", "regex": ROLES_PATTERN})
        )
    return suite


def suite_in_polars(dataset: Dataset, config: Mapping[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """The same expectations as `expectations()`, evaluated directly in polars (the gate's fast path)."""
    import polars as pl

    valid = dataset.valid
    failed = [
        ("FMT010:line", valid.filter(pl.col("line").is_duplicated())),
        ("FMT010:input", valid.filter(pl.col("input").is_null())),
        ("FMT013", valid.filter((pl.col("input_chars") > config["max_input_chars"]) | (pl.col("input_chars") < 1))),
    ]
    if dataset.split != "production":
        failed += [
            ("FMT010:output", valid.filter(pl.col("output").is_null())),
            ("FMT010:output-blank", valid.filter(~pl.col("output").str.contains(r"\S"))),
            (
                "FMT012",
                valid.filter((pl.col("output_chars") > config["max_output_chars"]) | (pl.col("output_chars") < 1)),
            ),
        ]
    if dataset.task == "classification":
        failed.append(("FMT010:label", valid.filter(pl.col("label").is_null())))
    if dataset.format == "chat":
        failed.append(("FMT010:roles", valid.filter(~pl.col("roles").str.contains(ROLES_PATTERN))))
    return [(key, tuple(rows["line"].to_list())) for key, rows in failed if rows.height]


def suite_findings(dataset: Dataset, config: Mapping[str, Any]) -> list[Finding]:
    name = dataset.path.name
    if dataset.valid.height == 0:
        return []
    if config["use_great_expectations"]:
        from auditor.expectations import run_suite

        outcomes = run_suite(dataset.valid, expectations(dataset, config), name=f"ftaudit_{dataset.split}")
        failed = [(o.key, o.lines) for o in outcomes if not o.success]
    else:
        failed = suite_in_polars(dataset, config)
    findings = []
    for key, lines in failed:
        code = key.split(":")[0]
        if code == "FMT012":
            message = f"{name}: {len(lines)} output(s) longer than {config['max_output_chars']:,} characters"
            findings.append(
                Finding(code, "warning", message, lines, {"limit": config["max_output_chars"]}, dataset.split)
            )
        elif code == "FMT013":
            message = f"{name}: {len(lines)} input(s) longer than {config['max_input_chars']:,} characters"
            findings.append(
                Finding(code, "warning", message, lines, {"limit": config["max_input_chars"]}, dataset.split)
            )
        else:
            expectation = key.split(":", 1)[-1]
            message = f"{name}: normalised rows fail the '{expectation}' expectation"
            findings.append(Finding(code, "error", message, lines, {"expectation": expectation}, dataset.split))
    return findings


def system_findings(dataset: Dataset) -> list[Finding]:
    import polars as pl

    if dataset.format != "chat" or dataset.split == "production":
        return []
    valid = dataset.valid
    missing = valid.filter(pl.col("system").is_null())["line"].to_list()
    if not missing:
        return []
    with_system = valid.height - len(missing)
    name = dataset.path.name
    if with_system == 0:
        return [
            Finding(
                "FMT011",
                "info",
                f"{name}: no chat row has a system message",
                (),
                {"rows_without": len(missing)},
                dataset.split,
            )
        ]
    message = f"{name}: {len(missing)} chat row(s) have no system message while {with_system} do"
    return [Finding("FMT011", "warning", message, tuple(missing), {"rows_without": len(missing)}, dataset.split)]


def format_evidence(
    rows_read: int, rows_valid: int, invalid_lines: tuple[int, ...], max_invalid_share: float, summary: str = ""
) -> FormatEvidence:
    """The evidence the ruling reads: unusable when nothing is valid or too large a share is malformed."""
    share = round((rows_read - rows_valid) / rows_read, 4) if rows_read else 0.0
    unusable = rows_valid == 0 or share > max_invalid_share
    return FormatEvidence(
        rows_read, rows_valid, invalid_lines, share, max_invalid_share, unusable, summary if unusable else ""
    )


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    findings: list[Finding] = []
    metrics: dict[str, Any] = {}
    for split, dataset in ctx.datasets.items():
        findings += dataset.findings
        findings += suite_findings(dataset, config)
        findings += system_findings(dataset)
        invalid = dataset.rows_read - dataset.rows_valid
        metrics[split] = {
            "format": dataset.format,
            "task": dataset.task,
            "rows_read": dataset.rows_read,
            "rows_valid": dataset.rows_valid,
            "rows_invalid": invalid,
            "invalid_share": round(invalid / dataset.rows_read, 4) if dataset.rows_read else 0.0,
        }
    train = metrics["train"]
    metrics["max_invalid_share"] = config["max_invalid_share"]
    name = ctx.train.path.name
    status = "pass"
    if train["rows_valid"] == 0:
        status = "fail"
        summary = (
            f"{name}: no usable rows among {train['rows_read']} read"
            if train["rows_read"]
            else f"{name}: the file holds no records"
        )
        findings.append(Finding("FMT014", "error", summary, (), {"rows_read": train["rows_read"]}))
    elif train["invalid_share"] > config["max_invalid_share"]:
        status = "fail"
        summary = (
            f"{name}: {train['rows_invalid']} of {train['rows_read']} rows malformed "
            f"({train['invalid_share']:.0%} > {config['max_invalid_share']:.0%} allowed)"
        )
        findings.append(Finding("FMT014", "error", summary, (), {"invalid_share": train["invalid_share"]}))
    else:
        summary = (
            f"{train['rows_valid']} of {train['rows_read']} training rows valid ({train['format']}, {train['task']})"
        )
        if any(f.severity in ("error", "warning") for f in findings):
            status = "warn"
    invalid_lines = tuple(sorted({r for f in findings if f.split == "train" and f.severity == "error" for r in f.rows}))
    evidence = format_evidence(
        train["rows_read"], train["rows_valid"], invalid_lines, config["max_invalid_share"], summary
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), evidence=(evidence,))
