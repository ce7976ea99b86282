"""Read a training, evaluation or production file into one normalised polars frame.

Malformed records never stop loading: each becomes a finding naming its line, and
the row stays in the frame with `valid = False`. Only a file that cannot be read
at all raises `InputError` (exit code 2).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from auditor.errors import InputError
from auditor.formats import FORMATS, FieldMap, Parsed, RecordError, detect, field_names, matches, parser_for
from auditor.results import Finding

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "txt"}
DETECT_SAMPLE = 500
BOM = b"\xef\xbb\xbf"

COLUMNS = ("line", "valid", "error", "input", "output", "label", "system", "turns", "roles", "tool_calls", "tools")


@dataclass(frozen=True)
class LoadOptions:
    data_format: str = "auto"
    fields: FieldMap = FieldMap()
    classification_max_distinct_ratio: float = 1 / 3
    classification_max_label_words: int = 5


@dataclass(frozen=True)
class RawRecord:
    line: int
    record: Any = None
    code: str = ""
    reason: str = ""


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


def file_kind(path: Path) -> str:
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown file type '{path.suffix}'; expected one of {', '.join(sorted(EXTENSIONS))}")
    return kind


def read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _decode(raw: bytes, line: int) -> str | RawRecord:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(line, code="FMT005", reason=f"not valid UTF-8 (byte 0x{raw[exc.start]:02X} at column {exc.start + 1})")


def _json_record(text: str, line: int) -> RawRecord:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRecord(line, code="FMT001", reason=f"invalid JSON: {exc.msg} (column {exc.colno})")
    except RecursionError:
        return RawRecord(line, code="FMT001", reason="invalid JSON: nested too deeply")
    if not isinstance(value, dict):
        return RawRecord(line, code="FMT002", reason=f"a JSON {type(value).__name__}, not an object")
    return RawRecord(line, record=value)


def iter_jsonl(data: bytes) -> Iterator[RawRecord]:
    if data.startswith(BOM):
        data = data[len(BOM):]
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        text = _decode(raw, number)
        yield text if isinstance(text, RawRecord) else _json_record(text, number)


def iter_json_array(text: str, path: Path) -> Iterator[RawRecord]:
    """Records of one JSON array, each with the line it starts on; InputError when it is not one array."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            line += text[pos] == "\n"
            pos += 1
        if pos >= len(text):
            raise InputError(f"{path}:{line}: invalid JSON array (missing closing ']')")
        if text[pos] == "]":
            if text[pos + 1:].strip():
                raise InputError(f"{path}:{line}: invalid JSON array (more data after its closing ']')")
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(f"{path}:{line}: invalid JSON array ({reason})") from None
        if isinstance(value, dict):
            yield RawRecord(line, record=value)
        else:
            yield RawRecord(line, code="FMT002", reason=f"a JSON {type(value).__name__}, not an object")
        line += text.count("\n", pos, end)
        pos = end


def _looks_like_array(data: bytes) -> bool:
    return data.lstrip(BOM + b" \t\r\n").startswith(b"[")


def iter_json_file(data: bytes, path: Path) -> tuple[list[RawRecord], bool]:
    """JSON Lines, or one JSON array of records; the flag says it was an array.

    A file that starts with '[' but is not one array (JSON Lines whose first line is a list) is
    read as JSON Lines when it has several lines, so no record after the first line is lost."""
    if not _looks_like_array(data):
        return list(iter_jsonl(data)), False
    try:
        text = data.decode("utf-8-sig")
        return list(iter_json_array(text, path)), True
    except UnicodeDecodeError as exc:
        if data.strip().count(b"\n"):
            return list(iter_jsonl(data)), False
        line = 1 + data.count(b"\n", 0, exc.start)
        raise InputError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02X})") from None
    except InputError:
        if len([l for l in data.split(b"\n") if l.strip()]) > 1:
            return list(iter_jsonl(data)), False
        raise


def iter_csv(data: bytes, path: Path) -> Iterator[RawRecord]:
    if data.startswith(BOM):
        data = data[len(BOM):]
    bad_lines: dict[int, RawRecord] = {}
    lines = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        text = _decode(raw, number)
        if isinstance(text, RawRecord):
            bad_lines[number] = text
            text = raw.decode("utf-8", errors="replace")
        lines.append(text.rstrip("\r"))
    reader = csv.reader(io.StringIO("\n".join(lines), newline=""))
    header: list[str] | None = None
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [h.strip() for h in row]
                continue
            bad = next((bad_lines[n] for n in range(start, end + 1) if n in bad_lines), None)
            if bad is not None:
                yield RawRecord(start, code=bad.code, reason=bad.reason)
            elif len(row) != len(header):
                yield RawRecord(start, code="FMT003", reason=f"{len(row)} fields where the header has {len(header)}")
            else:
                yield RawRecord(start, record=dict(zip(header, row)))
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from None


def iter_parquet(path: Path) -> Iterator[RawRecord]:
    import polars as pl

    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise InputError(f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})") from None
    for index, record in enumerate(frame.iter_rows(named=True), 1):
        yield RawRecord(index, record=record)


def iter_txt(data: bytes) -> Iterator[RawRecord]:
    if data.startswith(BOM):
        data = data[len(BOM):]
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        text = _decode(raw, number)
        yield text if isinstance(text, RawRecord) else RawRecord(number, record={"text": text})


def read_records(path: Path, split: str) -> tuple[list[RawRecord], str, list[Finding], bytes]:
    kind = file_kind(path)
    if kind == "txt" and split != "production":
        raise InputError(f"{path}: a plain .txt file (one input per line) can only be given as production inputs")
    data = read_bytes(path)
    notes: list[Finding] = []
    if kind in ("jsonl", "json"):
        records, was_array = iter_json_file(data, path)
        if was_array and kind == "jsonl":
            notes.append(Finding("FMT009", "info", f"{path.name} is one JSON array, not JSON Lines; read as an array", split=split))
        kind = "json" if was_array else "jsonl"
    elif kind == "csv":
        records = list(iter_csv(data, path))
    elif kind == "parquet":
        records = list(iter_parquet(path))
    else:
        records = list(iter_txt(data))
    return records, kind, notes, data


def infer_task(outputs: list[str], has_tool_calls: bool, options: LoadOptions) -> str:
    if has_tool_calls or len(outputs) < 3:
        return "generation"
    distinct = len(set(o.strip() for o in outputs))
    words = sorted(len(o.split()) for o in outputs)
    p95_words = words[int(0.95 * (len(words) - 1))]
    if 2 <= distinct < len(outputs) * options.classification_max_distinct_ratio and p95_words <= options.classification_max_label_words:
        return "classification"
    return "generation"


def _row(raw: RawRecord, parsed: Parsed | None, error: str | None) -> dict[str, Any]:
    if parsed is None:
        return {"line": raw.line, "valid": False, "error": error, "input": None, "output": None, "label": None,
                "system": None, "turns": None, "roles": None, "tool_calls": None, "tools": None}
    return {"line": raw.line, "valid": True, "error": None, "input": parsed.input, "output": parsed.output,
            "label": parsed.label, "system": parsed.system, "turns": parsed.turns, "roles": parsed.roles,
            "tool_calls": parsed.tool_calls, "tools": parsed.tools}


def choose_format(records: list[RawRecord], path: Path, split: str, options: LoadOptions) -> str:
    if options.fields.is_set():
        return "mapped"
    if options.data_format != "auto":
        return options.data_format
    sample = [r.record for r in records if r.record is not None][:DETECT_SAMPLE]
    if not sample:
        return "unknown"
    fmt, share = detect(sample, needs_output=split != "production")
    if not fmt:
        keys = ", ".join(sorted(sample[0].keys())[:8]) or "none"
        raise InputError(
            f"{path}: cannot tell the record format (first record's fields: {keys}); "
            "use --data-format or --field input=NAME --field output=NAME"
        )
    return fmt


def load_dataset(path: str | Path, split: str, options: LoadOptions = LoadOptions()) -> Dataset:
    import polars as pl

    path = Path(path)
    records, kind, findings, data = read_records(path, split)
    fmt = "text" if kind == "txt" else choose_format(records, path, split, options)
    needs_output = split != "production"
    parse = parser_for(fmt, options.fields) if fmt != "unknown" else None
    rows = []
    for raw in records:
        if raw.record is None or parse is None:
            code, reason = (raw.code, raw.reason) if raw.record is None else ("FMT003", "no usable record")
            findings.append(Finding(code, "error", f"{path.name}:{raw.line}: {reason}", (raw.line,), split=split))
            rows.append(_row(raw, None, reason))
            continue
        try:
            parsed = parse(raw.record, needs_output)
        except RecordError as exc:
            code, reason = exc.code, exc.reason
            if code == "FMT003" and reason.startswith("missing"):
                other = next((f for f in FORMATS if f not in (fmt, "mapped", "text") and matches(f, raw.record, needs_output)), None)
                code, reason = ("FMT015", f"a {other} record in a file read as {fmt}") if other else (code, f"{reason} (file read as {fmt})")
            findings.append(Finding(code, "error", f"{path.name}:{raw.line}: {reason}", (raw.line,), split=split))
            rows.append(_row(raw, None, reason))
            continue
        rows.append(_row(raw, parsed, None))
    schema = {"line": pl.Int64, "valid": pl.Boolean, "error": pl.String, "input": pl.String, "output": pl.String,
              "label": pl.String, "system": pl.String, "turns": pl.Int32, "roles": pl.String, "tool_calls": pl.Boolean, "tools": pl.String}
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    task = "inputs"
    if needs_output:
        valid = frame.filter(pl.col("valid"))
        task = "classification" if fmt == "classification" or (fmt == "mapped" and options.fields.label) else infer_task(
            valid["output"].to_list(), bool(valid["tool_calls"].any()), options)
        if task == "classification":
            frame = frame.with_columns(pl.when(pl.col("valid")).then(pl.col("output").str.strip_chars()).alias("label"))
    frame = frame.with_columns(
        pl.col("input").str.len_chars().alias("input_chars"),
        pl.col("output").str.len_chars().alias("output_chars"),
        pl.lit(task).alias("task"),
    )
    first = next((r.record for r in records if r.record is not None), None)
    names = field_names(fmt, first, options.fields)
    return Dataset(split, path, hashlib.sha256(data).hexdigest(), fmt, task, frame, tuple(findings), names)
