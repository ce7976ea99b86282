"""Where records come from: one file (plain, .gz or .zst), a folder or glob of shards, or stdin.

Each record keeps the file it came from and its line there (`file`, `file_line`); `line` is its line in the
shards read one after another in name order (as `cat` would join them), so it is unique across the set and
equals `file_line` when there is one file. Parquet and Arrow rows count as one line each.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

from auditor.errors import InputError
from auditor.results import Finding

EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".txt": "txt",
}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
HF_METADATA = {"dataset_info.json", "state.json", "dataset_dict.json"}
BOM = b"\xef\xbb\xbf"
STDIN = "-"
STDIN_NAME = "<stdin>"
STDIN_DATA: dict[str, bytes] = {}  # read once: a check may read the records again by the shown name
DELIMITERS = (",", ";", "\t", "|")


class RawRecord(NamedTuple):  # a tuple: made once per row, so cheap to make
    line: int
    record: Any = None
    code: str = ""
    reason: str = ""
    file: str = ""
    file_line: int = 0


@dataclass
class Read:
    records: list[RawRecord]
    kind: str
    notes: list[Finding]
    sha256: str
    files: int = 1


def kind_of(path: Path) -> tuple[str, str | None]:
    """(file kind, compression) from the name, e.g. train.jsonl.gz -> ('jsonl', 'gzip')."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    inner = suffixes[-2] if compression and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    kind = EXTENSIONS.get(inner)
    if kind is None or (compression and kind in ("parquet", "arrow")):
        shown = "".join(path.suffixes[-2:] if compression else path.suffixes[-1:]) or "(none)"
        known = ", ".join(sorted(EXTENSIONS)) + " (and .gz/.zst of the text kinds)"
        raise InputError(f"{path}: unknown file type '{shown}'; expected one of {known}")
    return kind, compression


def file_kind(path: Path) -> str:
    return kind_of(path)[0]


def read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def open_stream(path: Path, compression: str) -> IO[bytes]:
    if compression == "gzip":
        return cast(IO[bytes], gzip.open(path, "rb"))
    import zstandard

    return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))


def decompress(path: Path, compression: str) -> bytes:
    try:
        with open_stream(path, compression) as stream:
            return stream.read()
    except Exception as exc:  # gzip, zlib and zstandard raise their own error types
        raise InputError(f"{path}: cannot decompress ({first_line(exc)})") from None


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def guess_encoding(data: bytes) -> str:
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def decode_line(raw: bytes, line: int, hint: str = "") -> str | RawRecord:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}){hint}"
        return RawRecord(line, code="FMT005", reason=reason)


try:
    import orjson

    fast_loads: Callable[[str | bytes], Any] = orjson.loads
except ImportError:  # orjson is a dependency; without it the standard parser reads everything
    fast_loads = json.loads


def json_record(text: str | bytes, line: int) -> RawRecord:
    try:
        value = fast_loads(text)
    except ValueError:  # orjson refuses some of what json accepts (NaN, Infinity, lone surrogates): json decides
        # (orjson reads integers over 64 bits as floats, where json keeps them exact: a rare, harmless difference)
        if isinstance(text, bytes) and not text.isascii():
            decoded = decode_line(text, line)
            if isinstance(decoded, RawRecord):
                return decoded
            text = decoded
        return slow_json_record(text, line)
    if not isinstance(value, dict):
        return RawRecord(line, code="FMT002", reason=f"a JSON {type(value).__name__}, not an object")
    return RawRecord(line, record=value)


def slow_json_record(text: str | bytes, line: int) -> RawRecord:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRecord(line, code="FMT001", reason=f"invalid JSON: {exc.msg} (column {exc.colno})")
    except UnicodeDecodeError as exc:
        return RawRecord(line, code="FMT005", reason=f"not valid UTF-8 (column {exc.start + 1})")
    except RecursionError:
        return RawRecord(line, code="FMT001", reason="invalid JSON: nested too deeply")
    if not isinstance(value, dict):
        return RawRecord(line, code="FMT002", reason=f"a JSON {type(value).__name__}, not an object")
    return RawRecord(line, record=value)


def iter_jsonl(lines: Iterable[bytes]) -> Iterator[RawRecord]:
    """Records of JSON Lines given as byte lines (without or with their newline)."""
    for number, raw in enumerate(lines, 1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        raw = raw.rstrip(b"\r\n")
        if not raw or raw.isspace():
            continue
        yield json_record(raw, number)  # bytes: orjson checks UTF-8 itself, and a bad line is named as before


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
            if text[pos + 1 :].strip():
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


def looks_like_array(data: bytes) -> bool:
    return data[:4096].lstrip(BOM + b" \t\r\n").startswith(b"[")


def iter_json_file(data: bytes, path: Path) -> tuple[list[RawRecord], bool]:
    """JSON Lines, or one JSON array of records; the flag says it was an array.

    A file that starts with '[' but is not one array (JSON Lines whose first line is a list) is
    read as JSON Lines when it has several lines, so no record after the first line is lost."""
    if not looks_like_array(data):
        return list(iter_jsonl(data.split(b"\n"))), False
    try:
        text = data.decode("utf-8-sig")
        return by_position_when_lines_repeat(list(iter_json_array(text, path))), True
    except UnicodeDecodeError as exc:
        if data.strip().count(b"\n"):
            return list(iter_jsonl(data.split(b"\n"))), False
        line = 1 + data.count(b"\n", 0, exc.start)
        raise InputError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02X})") from None
    except InputError:
        if len([b for b in data.split(b"\n") if b.strip()]) > 1:
            return list(iter_jsonl(data.split(b"\n"))), False
        raise


def by_position_when_lines_repeat(records: list[RawRecord]) -> list[RawRecord]:
    """An array written on few lines (`json.dump` without indent puts it all on line 1) cannot name its records
    by line: they are then numbered by their 1-based position in the array, which FMT009 says."""
    if len({r.line for r in records}) == len(records):
        return records
    return [r._replace(line=position) for position, r in enumerate(records, 1)]


def sniff_delimiter(header: str, path: Path) -> str:
    """The delimiter of a CSV from its header line (Excel in many locales writes ';'; .tsv files use tabs)."""
    if path.suffix.lower() == ".tsv" or path.name.lower().endswith(".tsv.gz"):
        return "\t"
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv(data: bytes, path: Path) -> Iterator[RawRecord]:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    raw_lines = data.split(b"\n")
    hint = ""
    bad_lines: dict[int, RawRecord] = {}
    lines = []
    for number, raw in enumerate(raw_lines, 1):
        text = decode_line(raw, number)
        if isinstance(text, RawRecord):
            if not hint:
                encoding = guess_encoding(data)
                hint = f"; the file looks like {encoding} (Excel's default), read it with --encoding {encoding}"
            bad_lines[number] = text._replace(reason=text.reason + hint)
            text = raw.decode("utf-8", errors="replace")
        lines.append(text.rstrip("\r"))
    header_line = next((line for line in lines if line.strip()), "")
    reader = csv.reader(io.StringIO("\n".join(lines), newline=""), delimiter=sniff_delimiter(header_line, path))
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


def iter_table(path: Path, kind: str) -> Iterator[RawRecord]:
    """Rows of a Parquet file or an Arrow file/stream (a Hugging Face `save_to_disk` shard), 1-based."""
    import polars as pl

    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            import pyarrow as pa
            import pyarrow.ipc as ipc

            with pa.memory_map(str(path)) as source:
                try:
                    table = ipc.open_stream(source).read_all()
                except pa.ArrowInvalid:
                    table = ipc.open_file(source).read_all()
            frame = cast(pl.DataFrame, pl.from_arrow(table))
    except Exception as exc:  # polars and pyarrow raise several error types for a corrupt file
        raise InputError(f"{path}: unreadable {kind.title()} ({str(exc).splitlines()[0]})") from None
    for index, record in enumerate(frame.iter_rows(named=True), 1):
        yield RawRecord(index, record=record)


def iter_txt(data: bytes) -> Iterator[RawRecord]:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        text = decode_line(raw, number)
        yield text if isinstance(text, RawRecord) else RawRecord(number, record={"text": text})


def line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def recode(data: bytes, encoding: str, path: Path) -> bytes:
    if not encoding or encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except LookupError:
        raise InputError(f"{path}: unknown encoding '{encoding}'") from None
    except UnicodeDecodeError as exc:
        line = 1 + data.count(b"\n", 0, exc.start)
        raise InputError(f"{path}:{line}: not valid {encoding} (byte 0x{data[exc.start]:02X})") from None


def sniff_kind(data: bytes) -> str:
    """The kind of data read from stdin: JSON when it starts with '{' or '[', else CSV."""
    return "jsonl" if data[:4096].lstrip(BOM + b" \t\r\n")[:1] in (b"{", b"[") else "csv"


def read_one(
    path: Path, kind: str, compression: str | None, split: str, encoding: str, data: bytes | None = None
) -> tuple[list[RawRecord], str, list[Finding], bytes, int]:
    """(records, kind as read, notes, bytes hashed, lines spanned) of one file."""
    if kind == "txt" and split != "production":
        raise InputError(f"{path}: a plain .txt file (one input per line) can only be given as production inputs")
    notes: list[Finding] = []
    if kind in ("parquet", "arrow"):
        records = list(iter_table(path, kind))
        return records, kind, notes, read_bytes(path), len(records)
    if data is None:
        raw = read_bytes(path)
        if compression and kind == "jsonl" and not encoding and not looks_like_array(peek(path, compression)):
            records, lines = stream_jsonl(path, compression)
            return records, kind, notes, raw, lines
        data = decompress(path, compression) if compression else raw
    else:
        raw = data
    data = recode(data, encoding, path)
    if kind in ("jsonl", "json"):
        records, was_array = iter_json_file(data, path)
        by_position = was_array and len(records) > 1 and line_count(data) < len(records) == records[-1].line
        if was_array and (kind == "jsonl" or by_position):
            how = "; its records share lines, so rows are named by their position in the array" if by_position else ""
            notes.append(
                Finding(
                    "FMT009",
                    "info",
                    f"{path.name} is one JSON array, not JSON Lines; read as an array{how}",
                    split=split,
                )
            )
        kind = "json" if was_array else "jsonl"
    elif kind == "csv":
        records = list(iter_csv(data, path))
    else:
        records = list(iter_txt(data))
    return records, kind, notes, raw, line_count(data)


def peek(path: Path, compression: str) -> bytes:
    try:
        with open_stream(path, compression) as stream:
            return stream.read(4096)
    except Exception as exc:  # gzip, zlib and zstandard raise their own error types
        raise InputError(f"{path}: cannot decompress ({first_line(exc)})") from None


def stream_jsonl(path: Path, compression: str) -> tuple[list[RawRecord], int]:
    """A compressed JSON Lines file read line by line, never whole in memory."""
    counted = [0]

    def lines(stream: IO[bytes]) -> Iterator[bytes]:
        for counted[0], raw in enumerate(stream, 1):
            yield raw

    try:
        with open_stream(path, compression) as stream:
            records = list(iter_jsonl(lines(stream)))
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot decompress ({exc})") from None
    except Exception as exc:  # zstandard.ZstdError
        raise InputError(f"{path}: cannot decompress ({exc})") from None
    return records, counted[0]


def shard_paths(path: Path) -> list[Path]:
    """The data files of a folder (or the matches of a glob), in name order."""
    if path.is_dir():
        found = [
            p
            for p in sorted(path.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name not in HF_METADATA and _known(p)
        ]
        arrow = [p for p in found if p.suffix == ".arrow"]
        found = arrow or found
        if not found:
            splits = [p.name for p in sorted(path.iterdir()) if p.is_dir() and any(map(_known, p.iterdir()))]
            extra = f" (splits: {', '.join(splits)}; give one split's folder)" if splits else ""
            raise InputError(f"{path}: a folder with no data files{extra}")
        return found
    found = [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
    if not found:
        raise InputError(f"{path}: no files match")
    return found


def _known(path: Path) -> bool:
    try:
        kind_of(path)
        return True
    except InputError:
        return False


def is_glob(path: str) -> bool:
    return any(c in path for c in "*?[") and not Path(path).exists()


def located(records: list[RawRecord], name: str, offset: int = 0) -> list[RawRecord]:
    return [RawRecord(line + offset, record, code, reason, name, line) for line, record, code, reason, *_ in records]


def read_source(path: Path, split: str, encoding: str = "") -> Read:
    """Every record of a file, a folder or glob of shards, or stdin (`-`)."""
    if str(path) in (STDIN, STDIN_NAME):
        data = STDIN_DATA.get("data") if str(path) == STDIN_NAME else None
        if data is None:
            data = STDIN_DATA["data"] = sys.stdin.buffer.read()
        shown = Path(STDIN_NAME)
        records, kind, notes, raw, _ = read_one(shown, sniff_kind(data), None, split, encoding, data)
        return Read(located(records, shown.name), kind, notes, hashlib.sha256(raw).hexdigest())
    if not (path.is_dir() or is_glob(str(path))):
        kind, compression = kind_of(path)
        records, kind, notes, raw, _ = read_one(path, kind, compression, split, encoding)
        return Read(located(records, path.name), kind, notes, hashlib.sha256(raw).hexdigest())
    shards = shard_paths(path)
    digest = hashlib.sha256()
    all_records: list[RawRecord] = []
    notes_all: list[Finding] = []
    offset, first_kind = 0, ""
    for shard in shards:
        kind, compression = kind_of(shard)
        records, kind, notes, raw, lines = read_one(shard, kind, compression, split, encoding)
        first_kind = first_kind or kind
        label = str(shard.relative_to(path)) if path.is_dir() else str(shard)
        all_records += located(records, label, offset)
        notes_all += notes
        digest.update(f"{hashlib.sha256(raw).hexdigest()}  {label}\n".encode())
        offset += lines
    return Read(all_records, first_kind, notes_all, digest.hexdigest(), len(shards))
