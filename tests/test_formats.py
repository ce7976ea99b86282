"""Every dialect loads from hand-written sample text (math word problems, Parcelly support chats, tool calls, bank
intents) converted into it; the calibration tests repeat the conversion on real GSM8K."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.formats import FORMATS
from auditor.load import load_dataset
from tests.conftest import ROOT, SAMPLE, shared_file

Row = dict[str, Any]
calibration = pytest.mark.calibration


def gsm8k(n: int = 40) -> list[Row]:
    lines = shared_file("gsm8k", "test.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line) for line in lines]


def math(n: int = 40) -> list[Row]:
    """Hand-written GSM8K-style word problems (`question`, worked `answer` ending in `#### n`)."""
    lines = (SAMPLE / "math_word_problems.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line) for line in lines]


def support(n: int = 40) -> list[Row]:
    """The hand-written sample set's question/answer pairs (for runs without ../shared/data)."""
    rows = [json.loads(line) for line in (SAMPLE / "support_train.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = []
    for r in rows[:n]:
        turns = {m["role"]: m["content"] for m in r["messages"]}
        pairs.append({"question": turns["user"], "answer": turns["assistant"]})
    return pairs


SOURCES = {"math": math, "support": support}


def tool_rows() -> list[Row]:
    """Parcelly's tool-calling set: system, user, one assistant tool call per row (the drone set's shape)."""
    text = (SAMPLE / "tool_calls.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def intent_rows(n: int | None = None) -> list[Row]:
    with (SAMPLE / "bank_intents.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))[:n]


def wrong(answer: str) -> str:
    head, _, number = answer.rpartition("####")
    if not head:
        return f"Sorry, I cannot help with that. {answer[::-1]}"
    value = number.strip().replace(",", "")
    return f"{head}#### {int(value) + 1 if value.isdigit() else value + '1'}"


def write(tmp_path: Path, name: str, rows: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def user(text: str) -> Row:
    return {"role": "user", "content": text}


def bot(text: str) -> Row:
    return {"role": "assistant", "content": text}


DIALECTS: dict[str, tuple[str, str, Callable[[Row], Row]]] = {
    "sharegpt": (
        "sharegpt",
        "generation",
        lambda r: {
            "conversations": [{"from": "human", "value": r["question"]}, {"from": "gpt", "value": r["answer"]}],
            "system": "Solve the problem.",
        },
    ),
    "sharegpt-role-content": (
        "sharegpt",
        "generation",
        lambda r: {
            "conversations": [{"role": "user", "content": r["question"]}, {"role": "assistant", "content": r["answer"]}]
        },
    ),
    "gemini": (
        "gemini",
        "generation",
        lambda r: {
            "systemInstruction": {"parts": [{"text": "Solve the problem."}]},
            "contents": [
                {"role": "user", "parts": [{"text": r["question"]}]},
                {"role": "model", "parts": [{"text": r["answer"]}]},
            ],
        },
    ),
    "bedrock-claude": (
        "bedrock",
        "generation",
        lambda r: {"system": "Solve the problem.", "messages": [user(r["question"]), bot(r["answer"])]},
    ),
    "bedrock-converse": (
        "bedrock",
        "generation",
        lambda r: {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "Solve the problem."}],
            "messages": [
                {"role": "user", "content": [{"text": r["question"]}]},
                {"role": "assistant", "content": [{"text": r["answer"]}]},
            ],
        },
    ),
    "chat-developer-parts-reasoning": (
        "chat",
        "generation",
        lambda r: {
            "messages": [
                {"role": "developer", "content": "Solve the problem."},
                {"role": "user", "content": [{"type": "text", "text": r["question"]}]},
                {
                    "role": "assistant",
                    "content": r["answer"].split("####")[-1].strip(),
                    "reasoning_content": r["answer"].split("####")[0],
                    "weight": 1,
                },
            ],
            "weight": 1,
        },
    ),
    "trl-prompt-completion-conversational": (
        "prompt_completion",
        "generation",
        lambda r: {"prompt": [user(r["question"])], "completion": [bot(r["answer"])]},
    ),
    "trl-text": ("text", "generation", lambda r: {"text": f"Q: {r['question']}\nA: {r['answer']}"}),
    "alpaca-history": (
        "instruction",
        "generation",
        lambda r: {
            "instruction": r["question"],
            "input": "",
            "output": r["answer"],
            "system": "Solve the problem.",
            "history": [["What is 2 + 2?", "4"]],
        },
    ),
    "trl-preference": (
        "preference",
        "preference",
        lambda r: {
            "prompt": r["question"],
            "chosen": r["answer"],
            "rejected": wrong(r["answer"]),
            "score_chosen": 9.0,
            "score_rejected": 2.0,
        },
    ),
    "trl-preference-conversational": (
        "preference",
        "preference",
        lambda r: {
            "prompt": [user(r["question"])],
            "chosen": [bot(r["answer"])],
            "rejected": [bot(wrong(r["answer"]))],
        },
    ),
    "trl-implicit-messages": (
        "preference",
        "preference",
        lambda r: {
            "chosen": [user(r["question"]), bot(r["answer"])],
            "rejected": [user(r["question"]), bot(wrong(r["answer"]))],
        },
    ),
    "hh-transcript": (
        "preference",
        "preference",
        lambda r: {
            "chosen": f"\n\nHuman: {r['question']}\n\nAssistant: {r['answer']}",
            "rejected": f"\n\nHuman: {r['question']}\n\nAssistant: {wrong(r['answer'])}",
        },
    ),
    "kto": (
        "kto",
        "preference",
        lambda r: {"prompt": r["question"], "completion": r["answer"], "label": len(r["answer"]) % 2 == 0},
    ),
    "llamafactory-alpaca-preference": (
        "alpaca_preference",
        "preference",
        lambda r: {"instruction": r["question"], "input": "", "chosen": r["answer"], "rejected": wrong(r["answer"])},
    ),
    "llamafactory-sharegpt-preference": (
        "sharegpt_preference",
        "preference",
        lambda r: {
            "conversations": [{"from": "human", "value": r["question"]}],
            "chosen": {"from": "gpt", "value": r["answer"]},
            "rejected": {"from": "gpt", "value": wrong(r["answer"])},
        },
    ),
    "openai-preference": (
        "openai_preference",
        "preference",
        lambda r: {
            "input": {"messages": [user(r["question"])]},
            "preferred_output": [bot(r["answer"])],
            "non_preferred_output": [bot(wrong(r["answer"]))],
        },
    ),
}


def assert_dialect_loads(tmp_path: Path, dialect: str, rows: list[Row]) -> None:
    fmt, task, convert = DIALECTS[dialect]
    ds = load_dataset(write(tmp_path, f"{dialect}.jsonl", [convert(r) for r in rows]), "train")
    assert (ds.format, ds.task, ds.rows_read, ds.rows_valid) == (fmt, task, len(rows), len(rows))
    assert not [f for f in ds.findings if f.severity == "error"]
    first = ds.valid.row(0, named=True)
    messages = json.loads(first["messages"])
    assert {m["role"] for m in messages} <= {"system", "user", "assistant", "tool"}
    assert rows[0]["question"] in first["input"]
    if fmt != "chat":
        assert rows[0]["answer"] in first["output"]
    if task == "preference":
        assert first["rejected"] == wrong(rows[0]["answer"]) or fmt == "kto"
        rejected = json.loads(first["rejected_messages"]) if first["rejected_messages"] else None
        assert rejected is None or rejected[-1]["content"] == first["rejected"]


@pytest.mark.parametrize("source", ["math", "support"])
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_dialect_loads_every_row(tmp_path: Path, dialect: str, source: str) -> None:
    assert_dialect_loads(tmp_path, dialect, SOURCES[source]())


@calibration
def test_every_dialect_loads_real_gsm8k(tmp_path: Path) -> None:
    rows = gsm8k()
    for dialect in sorted(DIALECTS):
        folder = tmp_path / dialect
        folder.mkdir()
        assert_dialect_loads(folder, dialect, rows)


def test_preference_columns(tmp_path: Path) -> None:
    rows = support(5)
    ds = load_dataset(write(tmp_path, "p.jsonl", [DIALECTS["trl-preference"][2](r) for r in rows]), "train")
    assert ds.valid["chosen_rating"].to_list() == [9.0] * 5 and ds.valid["rejected_rating"].to_list() == [2.0] * 5
    assert ds.valid["kto_label"].null_count() == 5
    kto = load_dataset(write(tmp_path, "k.jsonl", [DIALECTS["kto"][2](r) for r in rows]), "train")
    assert kto.valid["kto_label"].to_list() == [len(r["answer"]) % 2 == 0 for r in rows]
    assert kto.valid["rejected"].null_count() == 5


def test_hh_transcript_prompt_is_the_human_turn(tmp_path: Path) -> None:
    row = {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Where is my parcel?\n\nAssistant: It leaves today.",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Where is my parcel?\n\nAssistant: It is lost.",
    }
    ds = load_dataset(write(tmp_path, "hh.jsonl", [row]), "train")
    first = ds.valid.row(0, named=True)
    assert (first["input"], first["output"], first["rejected"]) == (
        "Hi\nHello!\nWhere is my parcel?",
        "It leaves today.",
        "It is lost.",
    )
    assert [m["role"] for m in json.loads(first["messages"])] == ["user", "assistant", "user", "assistant"]


def test_chat_extras_are_normalised(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
            {"role": "assistant", "content": "A parcel.", "thinking": "It looks like a box.", "weight": 0},
            {"role": "user", "content": "And now?"},
            {"role": "assistant", "content": "Still a parcel."},
        ],
        "weight": 1,
    }
    ds = load_dataset(write(tmp_path, "c.jsonl", [row]), "train")
    first = ds.valid.row(0, named=True)
    messages = json.loads(first["messages"])
    assert messages[0] == {**messages[0], "role": "system", "source_role": "developer"}
    assert (messages[2]["train"], messages[2]["reasoning"]) == (False, "It looks like a box.")
    assert messages[4]["train"] is True
    assert "box" not in first["output"] and first["images"] == 1
    assert [f.code for f in ds.findings] == ["FMT017"]


def test_tool_calls_as_sharegpt_and_gemini_keep_their_calls(tmp_path: Path) -> None:
    rows = tool_rows()
    sharegpt, gemini = [], []
    for r in rows:
        system, question, reply = r["messages"]
        fn = reply["tool_calls"][0]["function"]
        call = {"name": fn["name"], "arguments": json.loads(fn["arguments"])}
        sharegpt.append(
            {
                "system": system["content"],
                "tools": json.dumps([t["function"] for t in r["tools"]]),
                "conversations": [
                    {"from": "human", "value": question["content"]},
                    {"from": "function_call", "value": json.dumps(call)},
                ],
            }
        )
        gemini.append(
            {
                "systemInstruction": {"parts": [{"text": system["content"]}]},
                "tools": [{"functionDeclarations": [t["function"] for t in r["tools"]]}],
                "contents": [
                    {"role": "user", "parts": [{"text": question["content"]}]},
                    {"role": "model", "parts": [{"functionCall": {"name": fn["name"], "args": call["arguments"]}}]},
                ],
            }
        )
    for name, fmt in (("sharegpt", sharegpt), ("gemini", gemini)):
        ds = load_dataset(write(tmp_path, f"{name}.jsonl", fmt), "train")
        assert (ds.format, ds.rows_valid, ds.task) == (name, 46, "generation")
        assert ds.valid["tool_calls"].all()
        assert json.loads(ds.valid["output"][0])[0] == {
            "name": "track_parcel",
            "arguments": {"tracking_number": "PX-104522"},
        }
        assert json.loads(ds.valid["output"][6])[0]["name"] == "reject_request"


def test_intent_chat_labels_are_classification(tmp_path: Path) -> None:
    rows = intent_rows()
    convs = [
        {"conversations": [{"from": "human", "value": r["text"]}, {"from": "gpt", "value": r["intent"]}]} for r in rows
    ]
    ds = load_dataset(write(tmp_path, "b.jsonl", convs), "train")
    assert (ds.format, ds.task, ds.rows_valid) == ("sharegpt", "classification", 240)
    assert set(ds.labels()) == {r["intent"] for r in rows} and len(ds.labels()) == 10


def test_malformed_dialect_rows_name_their_lines(tmp_path: Path) -> None:
    rows = support(6)
    share = [DIALECTS["sharegpt"][2](r) for r in rows]
    share[2]["conversations"][1]["from"] = "bot"
    ds = load_dataset(write(tmp_path, "s.jsonl", share), "train")
    assert [(f.code, f.rows) for f in ds.findings] == [("FMT006", (3,))]
    assert "s.jsonl:3:" in ds.findings[0].message and "'bot'" in ds.findings[0].message
    prefs = [DIALECTS["trl-preference"][2](r) for r in rows]
    del prefs[1]["chosen"]
    prefs[4] = {
        "chosen": [user(rows[4]["question"]), bot(rows[4]["answer"])],
        "rejected": [user(rows[0]["question"]), bot(rows[0]["answer"])],
    }
    ds = load_dataset(write(tmp_path, "p.jsonl", prefs), "train")
    assert sorted((f.code, f.rows) for f in ds.findings) == [("FMT003", (2,)), ("FMT016", (5,))]
    assert "missing field 'chosen'" in next(f.message for f in ds.findings if f.code == "FMT003")
    assert ds.rows_valid == 4


def test_compressed_streams_and_shards(tmp_path: Path) -> None:
    import polars as pl
    import pyarrow as pa
    import zstandard

    rows = [DIALECTS["sharegpt"][2](r) for r in support(30)]
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(text))
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(json.dumps(rows, indent=1).encode()))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(text))
    for name in ("a.jsonl.gz", "a.json.gz", "a.jsonl.zst"):
        ds = load_dataset(tmp_path / name, "train")
        assert (ds.format, ds.rows_valid) == ("sharegpt", 30), name
    shards = tmp_path / "shards"
    shards.mkdir()
    lines = text.split(b"\n")
    (shards / "part-0.jsonl").write_bytes(b"\n".join(lines[:10]) + b"\n")
    (shards / "part-1.jsonl").write_bytes(b"\n".join(lines[10:20]) + b"\nnot json\n")
    pl.DataFrame({"text": ["a b", "c d"], "label": ["x", "y"]}).write_parquet(shards / "part-2.parquet")
    ds = load_dataset(shards, "train")
    assert ds.rows_read == 23
    bad = next(f for f in ds.findings if f.code == "FMT001")
    assert bad.rows == (21,) and "part-1.jsonl:11:" in bad.message
    assert ds.frame.filter(ds.frame["line"] == 21)["file"].to_list() == ["part-1.jsonl"]
    assert ds.frame["line"].is_unique().all()
    ds = load_dataset(str(tmp_path / "shards" / "part-*.jsonl"), "train")
    assert ds.rows_read == 21 and ds.rows_valid == 20
    hf = tmp_path / "hf"
    hf.mkdir()
    table = pa.Table.from_pylist([{"conversations": r["conversations"]} for r in rows])
    with pa.OSFile(str(hf / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    (hf / "dataset_info.json").write_text("{}")
    (hf / "state.json").write_text("{}")
    ds = load_dataset(hf, "train")
    assert (ds.format, ds.rows_valid) == ("sharegpt", 30)


DIALECT_SAMPLES = {  # sample_data/dialects/: file -> (extra options, format, task, valid rows)
    "excel_semicolon_cp1252.csv": (["--encoding", "cp1252"], "classification", "classification", 3),
    "gemini.jsonl": ([], "gemini", "generation", 2),
    "preference.jsonl": ([], "preference", "preference", 2),
    "sharegpt_tools.jsonl": ([], "sharegpt", "generation", 3),
}


@pytest.mark.parametrize("name", sorted(DIALECT_SAMPLES))
def test_dialect_samples_audit_cleanly(name: str, tmp_path: Path, isolated_config: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    options, fmt, task, valid = DIALECT_SAMPLES[name]
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        main, ["audit", str(SAMPLE / "dialects" / name), *options, "--quiet", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    train = json.loads(out.read_text(encoding="utf-8"))["inputs"]["train"]
    assert (train["format"], train["task"], train["rows_read"], train["rows_valid"]) == (fmt, task, valid, valid)


def test_dialect_samples_are_all_listed() -> None:
    assert sorted(p.name for p in (SAMPLE / "dialects").iterdir()) == sorted(DIALECT_SAMPLES)


def test_fast_json_reads_what_the_standard_parser_reads(tmp_path: Path) -> None:
    lines = [
        b'{"prompt": NaN, "completion": "x"}',
        b'{"a": "\\ud800"}',
        b'{"a": "caf\xe9"}',
        '{"a": "café"}'.encode(),
        b'{"a": 1,}',
        '{"a": "é", }'.encode(),
        b"[1]",
        b"  ",
        b'{"a": 1} x',
    ]
    (tmp_path / "edge.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    from auditor.sources import read_source

    records = read_source(tmp_path / "edge.jsonl", "train").records
    assert [(r.line, r.code, r.reason) for r in records if r.code] == [
        (3, "FMT005", "not valid UTF-8 (byte 0xE9 at column 11)"),
        (5, "FMT001", "invalid JSON: Expecting property name enclosed in double quotes (column 9)"),
        (6, "FMT001", "invalid JSON: Expecting property name enclosed in double quotes (column 12)"),
        (7, "FMT002", "a JSON list, not an object"),
        (9, "FMT001", "invalid JSON: Extra data (column 10)"),
    ]
    parsed = {r.line: r.record for r in records if not r.code}
    assert parsed[2] == {"a": "\ud800"} and parsed[4] == {"a": "café"} and parsed[1]["completion"] == "x"


def test_language_modelling_text_is_counted_once(tmp_path: Path, isolated_config: Path) -> None:
    from auditor.api import audit
    from auditor.targets.encoders import tiktoken_offline

    texts = [
        f"Parcel {k} left the Leeds depot on Monday and should arrive within three working days." for k in range(8)
    ]
    path = write(tmp_path, "lm.jsonl", [{"text": t} for t in texts])
    metrics = audit(path, only=["tokens"]).check("tokens").metrics
    encoder = tiktoken_offline("cl100k_base")
    own = sum(len(encoder.ordinary(t)) for t in texts)
    assert metrics["trained_tokens"]["total"] == metrics["output_tokens"]["total"] == own
    assert own < metrics["conversation_tokens"]["total"] < own + 10 * len(texts)  # the text once, plus framing


def test_annotations_name_each_rows_shard_and_line(tmp_path: Path, isolated_config: Path) -> None:
    from auditor.annotate import to_jsonl
    from auditor.api import audit

    rows = [DIALECTS["sharegpt"][2](r) for r in support(12)]
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:5]), encoding="utf-8")
    (shards / "part-1.jsonl").write_text(
        "not json\n" + "".join(json.dumps(r) + "\n" for r in rows[5:]), encoding="utf-8"
    )
    report = audit(shards, only=["format"])
    annotated = [json.loads(line) for line in to_jsonl(report.annotations).splitlines()]
    assert [(r["line"], r["file"], r["file_line"], r["valid"]) for r in annotated][4:7] == [
        (5, "part-0.jsonl", 5, True),
        (6, "part-1.jsonl", 1, False),
        (7, "part-1.jsonl", 2, True),
    ]
    single = audit(shards / "part-0.jsonl", only=["format"]).annotations
    assert single["file"].to_list() == ["part-0.jsonl"] * 5 and single["file_line"].to_list() == [1, 2, 3, 4, 5]


def test_csv_dialects_and_encoding(tmp_path: Path) -> None:
    from auditor.load import LoadOptions

    rows = [{"text": r["text"], "category": r["intent"]} for r in intent_rows(200)]
    for name, delimiter in (("semi.csv", ";"), ("tabs.tsv", "\t")):
        with (tmp_path / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(["text", "category"])
            writer.writerows([r["text"] + " ; ok", r["category"]] for r in rows)
        ds = load_dataset(tmp_path / name, "train")
        assert (ds.task, ds.rows_valid) == ("classification", 200), name
    excel = tmp_path / "excel.csv"
    rows[3]["text"] = "Mon café est arrivé cassé"
    with excel.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["text", "category"])
        writer.writerows([r["text"], r["category"]] for r in rows)
    ds = load_dataset(excel, "train")
    finding = next(f for f in ds.findings if f.code == "FMT005")
    assert finding.rows == (5,) and "--encoding cp1252" in finding.message
    fixed = load_dataset(excel, "train", LoadOptions(encoding="cp1252"))
    assert fixed.rows_valid == 200 and "Mon café est arrivé cassé" in fixed.valid["input"].to_list()


def test_stdin_through_the_cli(tmp_path: Path, isolated_config: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    text = "".join(json.dumps(DIALECTS["sharegpt"][2](r)) + "\n" for r in support(12))
    result = CliRunner().invoke(main, ["audit", "-", "--format", "json", "-q", "--no-cache"], input=text)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["inputs"]["train"]["format"], report["inputs"]["train"]["rows_valid"]) == ("sharegpt", 12)


def test_tool_calls_with_three_broken_rows_flag_exactly_those(tmp_path: Path, isolated_config: Path) -> None:
    from auditor.api import audit

    rows = tool_rows()
    clean = audit(write(tmp_path, "clean.jsonl", rows), only=["format", "tools"])
    assert [f.code for c in clean.checks for f in c.findings] == []
    rows[4]["messages"][-1]["tool_calls"][0]["function"]["arguments"] = '{"weight_kg": 2.5'
    rows[19]["messages"][-1]["tool_calls"][0]["function"]["name"] = "cancel_gym_membership"
    rows[39]["messages"].insert(2, {"role": "tool", "tool_call_id": "call_999", "content": "done"})
    report = audit(write(tmp_path, "tools.jsonl", rows), only=["format", "tools"])
    flagged = {(f.code, f.rows) for c in report.checks for f in c.findings if f.rows}
    assert flagged == {("FMT008", (5,)), ("TOOL001", (20,)), ("TOOL003", (40,))}


def test_readme_table_lists_every_format() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Input formats", 1)[1].split("\n### ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert listed == set(FORMATS)


@pytest.mark.parametrize(
    "name, fmt, task, valid",
    [
        ("sharegpt_tools.jsonl", "sharegpt", "generation", 3),
        ("gemini.jsonl", "gemini", "generation", 2),
        ("preference.jsonl", "preference", "preference", 2),
    ],
)
def test_sample_dialect_files(name: str, fmt: str, task: str, valid: int) -> None:
    ds = load_dataset(SAMPLE / "dialects" / name, "train")
    assert (ds.format, ds.task, ds.rows_valid, ds.rows_read) == (fmt, task, valid, valid)
    assert not [f for f in ds.findings if f.severity == "error"]


def test_sample_excel_csv_names_its_encoding() -> None:
    from auditor.load import LoadOptions

    path = SAMPLE / "dialects" / "excel_semicolon_cp1252.csv"
    ds = load_dataset(path, "train")
    assert [(f.code, f.rows) for f in ds.findings] == [("FMT005", (2,))]
    assert "--encoding cp1252" in ds.findings[0].message
    fixed = load_dataset(path, "train", LoadOptions(encoding="cp1252"))
    assert fixed.rows_valid == 3 and fixed.valid["input"][0] == "Mon colis est arrivé abîmé"
