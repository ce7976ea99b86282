from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.formats import FieldMap
from auditor.load import LoadOptions, load_dataset
from tests.conftest import SAMPLE, shared_file


def lines_of(dataset, code: str) -> list[int]:
    return sorted(r for f in dataset.findings if f.code == code for r in f.rows)


@pytest.mark.parametrize("name", [pytest.param("toy", marks=pytest.mark.calibration), "cheerful"])
def test_flawed_chat_names_missing_user(name: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue("toy_chat") if name == "toy" else SAMPLE / "broken" / "cheerful_chat.jsonl"
    ds = load_dataset(path, "train")
    assert (ds.format, ds.rows_read, ds.rows_valid) == ("chat", 5, 4)
    assert lines_of(ds, "FMT004") == [4]
    assert ds.frame.filter(ds.frame["line"] == 3)["system"].to_list() == [None]


@pytest.mark.parametrize(
    "source, rows, first_call",
    [
        pytest.param(
            ("openai_cookbook", "drone_training.jsonl"),
            103,
            ("takeoff_drone", {"altitude": 100}),
            marks=pytest.mark.calibration,
        ),
        ((), 46, ("track_parcel", {"tracking_number": "PX-104522"})),
    ],
)
def test_tool_calls_load_without_errors(source: tuple[str, ...], rows: int, first_call: tuple[str, dict]) -> None:
    ds = load_dataset(shared_file(*source) if source else SAMPLE / "tool_calls.jsonl", "train")
    assert ds.rows_valid == ds.rows_read == rows
    assert not [f for f in ds.findings if f.severity == "error"]
    assert ds.valid["tool_calls"].all()
    first = json.loads(ds.valid["output"][0])
    assert (first[0]["name"], first[0]["arguments"]) == first_call
    assert ds.task == "generation"


@pytest.mark.parametrize(
    "source, labels",
    [
        pytest.param(("openai_cookbook", "dbpedia_samples.jsonl"), 14, marks=pytest.mark.calibration),
        pytest.param(("banking77", "train.csv"), 77, marks=pytest.mark.calibration),
        ("bank_intents.csv", 10),
        ("tickets.csv", 8),
    ],
)
def test_classification_sets_are_detected(source: tuple[str, str] | str, labels: int) -> None:
    ds = load_dataset(SAMPLE / source if isinstance(source, str) else shared_file(*source), "train")
    assert ds.task == "classification"
    assert len(ds.labels()) == labels


def test_math_word_problems_are_prompt_completion() -> None:
    ds = load_dataset(SAMPLE / "math_word_problems.jsonl", "train")
    assert ds.format == "prompt_completion" and ds.task == "generation"
    assert ds.fields == {"input": "question", "output": "answer"}
    assert ds.rows_valid == ds.rows_read == 101 and not ds.findings
    assert all(o.rstrip().split("\n")[-1].startswith("#### ") for o in ds.valid["output"].to_list())


def test_csv_line_numbers_follow_physical_lines(tmp_path: Path) -> None:
    text = (SAMPLE / "bank_intents.csv").read_text(encoding="utf-8").split("\n")
    text[5] = '"\nhi, my card was stolen\n\n and I need a new one",card_lost_or_stolen'
    text[9] = '"top up failed again, ""insufficient funds"" it says",top_up_failed'
    path = tmp_path / "intents.csv"
    path.write_text("\n".join(text), encoding="utf-8")
    ds = load_dataset(path, "train")
    assert ds.frame["line"][0] == 2 and ds.rows_valid == 240
    lines = ds.frame["line"].to_list()
    assert lines[3:10] == [5, 6, 10, 11, 12, 13, 14], "a quoted record spans lines 6-9; the next starts at 10"
    multi_line = ds.frame.filter(ds.frame["input"].str.starts_with("\n"))
    assert multi_line["line"].to_list() == [6]
    quoted = ds.frame.filter(ds.frame["line"] == 13)["input"].to_list()
    assert quoted == ['top up failed again, "insufficient funds" it says']
    assert ds.frame["line"][-1] == 244


def test_chat_classification_from_short_repeated_replies(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.jsonl"
    rows = []
    for i in range(60):
        label = ["positive", "negative", "neutral"][i % 3]
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"review number {i} about the product"},
                    {"role": "assistant", "content": label},
                ]
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load_dataset(path, "train")
    assert ds.task == "classification"
    assert ds.labels() == ["negative", "neutral", "positive"]


def test_malformed_lines_become_findings_and_the_rest_loads(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    lines = [
        json.dumps(good).encode(),
        b'{"messages": [',
        b"[1, 2]",
        b"",
        json.dumps({"messages": "not a list"}).encode(),
        json.dumps(
            {"messages": [{"role": "narrator", "content": "x"}, {"role": "assistant", "content": "y"}]}
        ).encode(),
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}).encode(),
        json.dumps({"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "y"}]}).encode(),
        '{"messages": [{"role": "user", "content": "caf\u00e9"}, {"role": "assistant", "content": "ok"}]}'.encode(
            "latin-1"
        ),
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "   "}]}).encode(),
        json.dumps(good).encode(),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    ds = load_dataset(path, "train")
    assert ds.valid["line"].to_list() == [1, 11]
    codes = {f.rows[0]: f.code for f in ds.findings}
    assert codes == {
        2: "FMT001",
        3: "FMT002",
        5: "FMT003",
        6: "FMT006",
        7: "FMT004",
        8: "FMT003",
        9: "FMT005",
        10: "FMT007",
    }
    assert all(f"bad.jsonl:{f.rows[0]}:" in f.message for f in ds.findings)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_bom_crlf_and_blank_lines_are_silent(tmp_path: Path) -> None:
    row = json.dumps({"prompt": "Translate: cat", "completion": "chat"})
    path = tmp_path / "win.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + f"{row}\r\n\r\n{row}\r\n".encode())
    ds = load_dataset(path, "train")
    assert ds.rows_valid == 2 and not ds.findings
    assert ds.valid["line"].to_list() == [1, 3]


def test_json_array_keeps_line_numbers(tmp_path: Path) -> None:
    records = [{"instruction": f"Say {w}", "input": "", "output": w} for w in ("one", "two", "three")]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records, indent=2))
    ds = load_dataset(path, "train")
    assert ds.format == "instruction" and ds.rows_valid == 3
    text = path.read_text().split("\n")
    for line in ds.valid["line"].to_list():
        assert text[line - 1].strip() == "{"


def test_jsonl_that_is_an_array_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "array.jsonl"
    path.write_text(json.dumps([{"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "d"}], indent=1))
    ds = load_dataset(path, "train")
    assert ds.rows_valid == 2
    assert [f.code for f in ds.findings] == ["FMT009"]


def test_production_txt_and_chat_without_reply(tmp_path: Path) -> None:
    txt = tmp_path / "prod.txt"
    txt.write_text("where is my parcel\n\nhow do I return shoes\n")
    ds = load_dataset(txt, "production")
    assert ds.valid["input"].to_list() == ["where is my parcel", "how do I return shoes"]
    assert ds.valid["line"].to_list() == [1, 3]
    chat = tmp_path / "prod.jsonl"
    chat.write_text(
        json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "track PX-1"}]}) + "\n"
    )
    assert load_dataset(chat, "production").valid["input"].to_list() == ["track PX-1"]


def test_field_mapping(tmp_path: Path) -> None:
    path = tmp_path / "custom.jsonl"
    path.write_text(
        "".join(json.dumps({"body": f"ticket {i}", "queue": "billing" if i % 2 else "tech"}) + "\n" for i in range(9))
    )
    with pytest.raises(InputError, match="cannot tell the record format"):
        load_dataset(path, "train")
    ds = load_dataset(path, "train", LoadOptions(fields=FieldMap(input="body", label="queue")))
    assert ds.task == "classification" and ds.labels() == ["billing", "tech"]


def test_parquet(tmp_path: Path) -> None:
    import polars as pl

    path = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x", "y", "x"]}).write_parquet(path)
    ds = load_dataset(path, "train")
    assert ds.task == "classification" and ds.valid["line"].to_list() == [1, 2, 3]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.jsonl", None, "no such file"),
        ("data.xml", b"<a/>", "unknown file type"),
        ("train.txt", b"hello\n", "only be given as production"),
        ("broken.json", b'[{"prompt": "a", "completion": "b"},', "invalid JSON array"),
    ],
)
def test_file_level_errors(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_dataset(path, "train")
    assert "\n" not in str(info.value) and name in str(info.value)


@pytest.mark.parametrize("name", ["cheerful", "sample", "broken"])
def test_great_expectations_and_polars_suites_agree(name: str) -> None:
    from checks.format import DEFAULTS, suite_findings

    path = {
        "cheerful": SAMPLE / "broken" / "cheerful_chat.jsonl",
        "sample": SAMPLE / "support_train.jsonl",
        "broken": SAMPLE / "broken" / "malformed_lines.jsonl",
    }[name]
    dataset = load_dataset(path, "train")
    with_gx = suite_findings(dataset, {**DEFAULTS, "max_output_chars": 120, "max_input_chars": 60})
    with_polars = suite_findings(
        dataset, {**DEFAULTS, "max_output_chars": 120, "max_input_chars": 60, "use_great_expectations": False}
    )
    assert [(f.code, f.rows) for f in with_gx] == [(f.code, f.rows) for f in with_polars]
    assert with_gx, "the low limits must make both suites report something"
