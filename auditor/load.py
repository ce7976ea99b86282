"""Read a training, evaluation or production set into one normalised polars frame.

Malformed records never stop loading: each becomes a finding naming its file and line, and
the row stays in the frame with `valid = False`. Only input that cannot be read at all raises
`InputError` (exit code 2).

Columns: `line` (unique across shards, see `auditor.sources`), `file`, `file_line`, `valid`, `error`,
`input`, `output`, `label`, `system`, `turns`, `roles`, `tool_calls`, `tools`, `messages` (the conversation
normalised to role/content/train/tool_calls/name/tool_call_id/reasoning, compact JSON), `rejected`,
`rejected_messages`, `chosen_rating`, `rejected_rating`, `kto_label` (preference rows), `images`, `record_keys`,
then `input_chars`, `output_chars`, `task`.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.formats import FORMATS, FieldMap, Parsed, RecordError, RecordFormat, detect, other_format
from auditor.results import Finding
from auditor.sources import EXTENSIONS, RawRecord, file_kind, read_bytes, read_source

try:
    import orjson
except ImportError:  # a dependency; the standard encoder writes the same text
    orjson = None  # type: ignore[assignment]

__all__ = [
    "COLUMNS",
    "EXTENSIONS",
    "Dataset",
    "LoadOptions",
    "RawRecord",
    "file_kind",
    "load_dataset",
    "load_records",
    "read_bytes",
    "read_records",
]

DETECT_SAMPLE = 500


def _schema() -> dict[str, Any]:
    import polars as pl

    return {
        "line": pl.Int64,
        "file": pl.String,
        "file_line": pl.Int64,
        "valid": pl.Boolean,
        "error": pl.String,
        "input": pl.String,
        "output": pl.String,
        "label": pl.String,
        "system": pl.String,
        "turns": pl.Int32,
        "roles": pl.String,
        "tool_calls": pl.Boolean,
        "tools": pl.String,
        "messages": pl.String,
        "rejected": pl.String,
        "rejected_messages": pl.String,
        "chosen_rating": pl.Float64,
        "rejected_rating": pl.Float64,
        "kto_label": pl.Boolean,
        "images": pl.Int32,
        "record_keys": pl.String,
    }


COLUMNS = (
    "line",
    "file",
    "file_line",
    "valid",
    "error",
    "input",
    "output",
    "label",
    "system",
    "turns",
    "roles",
    "tool_calls",
    "tools",
    "messages",
    "rejected",
    "rejected_messages",
    "chosen_rating",
    "rejected_rating",
    "kto_label",
    "images",
    "record_keys",
)


@dataclass(frozen=True)
class LoadOptions:
    data_format: str = "auto"
    fields: FieldMap = FieldMap()
    classification_max_distinct_ratio: float = 1 / 3
    classification_max_label_words: int = 5
    encoding: str = ""


@dataclass(frozen=True)
class Dataset:
    split: str
    path: Path
    sha256: str
    format: str
    task: str
    frame: Any  # polars.DataFrame with COLUMNS plus input_chars, output_chars, task
    findings: tuple[Finding, ...]
    fields: Mapping[str, str]

    @property
    def valid(self) -> Any:
        import polars as pl

        return self.frame.filter(pl.col("valid"))

    @property
    def rows_read(self) -> int:
        return self.frame.height

    @property
    def rows_valid(self) -> int:
        return int(self.frame["valid"].sum())

    def labels(self) -> list[str]:
        if self.task != "classification":
            return []
        return sorted(self.valid["label"].drop_nulls().unique().to_list())


def infer_task(outputs: list[str], has_tool_calls: bool, options: LoadOptions) -> str:
    if has_tool_calls or len(outputs) < 3:
        return "generation"
    distinct = len(set(o.strip() for o in outputs))
    words = sorted(len(o.split()) for o in outputs)
    p95_words = words[int(0.95 * (len(words) - 1))]
    if (
        2 <= distinct < len(outputs) * options.classification_max_distinct_ratio
        and p95_words <= options.classification_max_label_words
    ):
        return "classification"
    return "generation"


def read_records(path: str | Path, split: str, encoding: str = "") -> tuple[list[RawRecord], str, list[Finding], str]:
    """The raw records of a set as loaded (lines as in the frame): (records, kind, notes, sha256)."""
    read = read_source(Path(path), split, encoding)
    return read.records, read.kind, read.notes, read.sha256


def choose_format(records: list[RawRecord], path: Path, split: str, options: LoadOptions) -> str:
    if options.fields.is_set():
        return "mapped"
    if options.data_format != "auto":
        if options.data_format not in FORMATS:
            known = ", ".join(FORMATS)
            raise InputError(f"unknown data format '{options.data_format}'; expected auto or one of {known}")
        return options.data_format
    sample = [r.record for r in records if r.record is not None][:DETECT_SAMPLE]
    if not sample:
        return "unknown"
    fmt, _ = detect(sample, needs_output=split != "production")
    if not fmt:
        keys = ", ".join(sorted(sample[0].keys())[:8]) or "none"
        raise InputError(
            f"{path}: cannot tell the record format (first record's fields: {keys}); "
            "use --data-format or --field input=NAME --field output=NAME"
        )
    return fmt


PARSED = (
    "input",
    "output",
    "label",
    "system",
    "turns",
    "roles",
    "tool_calls",
    "tools",
    "rejected",
    "chosen_rating",
    "rejected_rating",
    "kto_label",
    "images",
)


class Columns:
    """The frame's rows as read and parsed, turned into columns at once."""

    def __init__(self) -> None:
        self.raws: list[RawRecord] = []
        self.parsed: list[Parsed | None] = []
        self.errors: list[str | None] = []

    def add(self, raw: RawRecord, parsed: Parsed | None, error: str | None) -> None:
        self.raws.append(raw)
        self.parsed.append(parsed)
        self.errors.append(error)

    def frame(self) -> Any:
        import polars as pl

        raws, parsed = self.raws, self.parsed
        data: dict[str, Any] = {
            "line": [r.line for r in raws],
            "file": [r.file for r in raws],
            "file_line": [r.file_line for r in raws],
            "valid": [p is not None for p in parsed],
            "error": self.errors,
            "record_keys": [",".join(r.record) if type(r.record) is dict else None for r in raws],
        }
        empty = (None,) * (len(PARSED) + 2)
        values = attrgetter(*PARSED, "messages", "rejected_messages")
        rows = [values(p) if p is not None else empty for p in parsed]
        for name, column in zip((*PARSED, "messages", "rejected_messages"), zip(*rows)) if rows else ():
            data[name] = [dumps(v) for v in column] if name.endswith("messages") else column
        return pl.DataFrame({name: data.get(name, []) for name in COLUMNS}, schema=_schema())


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(messages: list[dict[str, Any]] | None) -> str | None:
    """A message list as compact JSON (the `messages` column's text; orjson writes the same text faster)."""
    if messages is None:
        return None
    if orjson is not None:
        try:
            return orjson.dumps(messages).decode()
        except TypeError:  # a value orjson does not write (an integer over 64 bits): json does
            pass
    return _ENCODE(messages)


def parse_records(
    records: list[RawRecord], fmt: RecordFormat | None, split: str, options: LoadOptions, findings: list[Finding]
) -> Columns:
    needs_output = split != "production"
    columns = Columns()
    for raw in records:
        where = f"{raw.file}:{raw.file_line}"
        if raw.record is None or fmt is None:
            code, reason = (raw.code, raw.reason) if raw.record is None else ("FMT003", "no usable record")
            findings.append(Finding(code, "error", f"{where}: {reason}", (raw.line,), split=split))
            columns.add(raw, None, reason)
            continue
        try:
            parsed = fmt.parse(raw.record, needs_output, options.fields)
        except RecordError as exc:
            code, reason = exc.code, exc.reason
            if code == "FMT003" and reason.startswith("missing"):
                other = other_format(fmt.name, raw.record, needs_output) if fmt.auto else None
                code, reason = (
                    ("FMT015", f"a {other} record in a file read as {fmt.name}")
                    if other
                    else (code, f"{reason} (file read as {fmt.name})")
                )
            findings.append(Finding(code, "error", f"{where}: {reason}", (raw.line,), split=split))
            columns.add(raw, None, reason)
            continue
        columns.add(raw, parsed, None)
    return columns


def media_finding(frame: Any, path: Path, split: str) -> list[Finding]:
    import polars as pl

    with_media = frame.filter(pl.col("images") > 0)
    if not with_media.height:
        return []
    parts = int(with_media["images"].sum())
    message = (
        f"{path.name}: {with_media.height} row(s) carry {parts} image/file part(s); they are counted, "
        "not audited (only the text is embedded and checked)"
    )
    return [Finding("FMT017", "info", message, tuple(with_media["line"].to_list()), {"parts": parts}, split)]


def decide_task(fmt: RecordFormat | None, frame: Any, options: LoadOptions) -> str:
    import polars as pl

    if fmt is not None and fmt.task:
        return fmt.task
    if fmt is not None and fmt.name == "mapped" and options.fields.label:
        return "classification"
    valid = frame.filter(pl.col("valid"))
    return infer_task(valid["output"].to_list(), bool(valid["tool_calls"].any()), options)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while rows are read: every object made is kept, and scanning them again
    and again as they pile up costs about a quarter of the load."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_dataset(path: str | Path, split: str, options: LoadOptions = LoadOptions()) -> Dataset:
    path = Path(path)
    with collector_paused():
        read = read_source(path, split, options.encoding)
    return dataset_from(read, Path("<stdin>") if str(path) == "-" else path, split, options)


def load_records(records: Any, split: str, options: LoadOptions = LoadOptions(), name: str = "") -> Dataset:
    """A dataset from records in memory (mappings: a list of dicts, a DataFrame's rows), parsed exactly as
    a file's records are; record N is named as line N, the set as `name` (default `<split records>`)."""
    import hashlib

    from auditor.sources import Read

    raws, digest = [], hashlib.sha256()
    shown_name = name or f"<{split} records>"
    for line, record in enumerate(records, 1):
        if isinstance(record, Mapping):
            raws.append(RawRecord(line, dict(record), "", "", shown_name, line))
            digest.update(json.dumps(record, sort_keys=True, default=str, ensure_ascii=False).encode() + b"\n")
        else:
            reason = f"a {type(record).__name__}, not a record (mapping)"
            raws.append(RawRecord(line, None, "FMT002", reason, shown_name, line))
            digest.update(repr(record).encode() + b"\n")
    return dataset_from(Read(raws, "records", [], digest.hexdigest()), Path(shown_name), split, options)


def dataset_from(read: Any, shown: Path, split: str, options: LoadOptions) -> Dataset:
    """A `Dataset` from records already read (`auditor.sources.Read`)."""
    import polars as pl

    with collector_paused():
        findings = list(read.notes)
        name = "text" if read.kind == "txt" else choose_format(read.records, shown, split, options)
        fmt = FORMATS.get(name)
        frame = parse_records(read.records, fmt, split, options, findings).frame()
    findings += media_finding(frame, shown, split)
    task = "inputs"
    if split != "production":
        task = decide_task(fmt, frame, options)
        if task == "classification":
            frame = frame.with_columns(pl.when(pl.col("valid")).then(pl.col("output").str.strip_chars()).alias("label"))
    frame = frame.with_columns(
        pl.col("input").str.len_chars().alias("input_chars"),
        pl.col("output").str.len_chars().alias("output_chars"),
        pl.lit(task).alias("task"),
    )
    first = next((r.record for r in read.records if r.record is not None), None)
    names = fmt.field_names(first or {}, options.fields) if fmt is not None else {}
    return Dataset(split, shown, read.sha256, name, task, frame, tuple(findings), names)
