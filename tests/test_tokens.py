from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from auditor.api import audit
from checks.tokens import DEFAULTS, default_epochs, load_encoding
from tests.conftest import SAMPLE, shared_file


def cookbook_tokens(messages: list[dict], encoding) -> int:
    """num_tokens_from_messages from OpenAI's "Chat fine-tuning data prep" notebook."""
    total = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode(value))
            total += key == "name"
    return total + 3


SOURCES = [pytest.param("real", marks=pytest.mark.calibration), "sample"]  # ../shared/data or sample_data stand-ins


def toy_chat_set(source: str) -> Path:
    """The cookbook's flawed toy chat set, or its stand-in with the same five row shapes (line 5's reply is huge)."""
    if source == "real":
        return shared_file("openai_cookbook", "toy_chat_fine_tuning.jsonl")
    return SAMPLE / "broken" / "cheerful_chat.jsonl"


@pytest.mark.parametrize("source", SOURCES)
def test_toy_chat_long_reply_exceeds_a_low_limit(source: str, isolated_config: Path) -> None:
    toy_chat = toy_chat_set(source)
    result = audit(toy_chat, only=["tokens"], overrides={"tokens": {"context_limit": 4096}}).check("tokens")
    encoding = load_encoding("cl100k_base")
    records = [json.loads(line) for line in toy_chat.read_text(encoding="utf-8").splitlines()]
    expected = {n: cookbook_tokens(r["messages"], encoding) for n, r in enumerate(records, 1) if n != 4}
    assert result.row_values["train"]["tokens"] == expected  # line 4 has no user message: not valid
    longest, reply = expected[5], len(encoding.encode(records[4]["messages"][-1]["content"]))
    assert result.metrics["token_max"] == longest > 4096 and result.metrics["output_tokens"]["max"] == reply
    if source == "real":
        assert (longest, reply) == (8032, 8000)  # the notebook's published maximum
    assert result.metrics["examples_over_limit"] == 1 and result.metrics["outputs_lost"] == 0
    over = next(f for f in result.findings if f.code == "TOK001")
    assert over.rows == (5,) and over.data["reply_tokens_cut_by_line"] == {"5": longest - 4096}
    assert result.status == "fail"  # 1 of 4 rows is over 5 %
    assert result.metrics["billed_tokens_per_epoch"] == 4096 + sum(v for k, v in expected.items() if k != 5)
    assert result.metrics["epochs"] == 25  # 4 examples: min(25, 100 // 4)
    assert next(f for f in result.findings if f.code == "TOK003").rows == (5,)


@pytest.mark.parametrize("source", SOURCES)
def test_default_limit_passes_and_a_prompt_past_the_limit_loses_its_reply(source: str, isolated_config: Path) -> None:
    toy_chat = toy_chat_set(source)
    result = audit(toy_chat, only=["tokens"]).check("tokens")
    assert result.status == "pass" and result.metrics["examples_over_limit"] == 0
    low = {"context_limit": 40, "max_over_limit_share": 0.9}
    lost = audit(toy_chat, only=["tokens"], overrides={"tokens": {**low, "train_on": "last"}}).check("tokens")
    # line 2's prompt before its last reply (system + five or more turns) is over 40 tokens by itself; line 5's is not
    assert next(f for f in lost.findings if f.code == "TOK002").rows == (2,)
    assert lost.metrics["examples_over_limit"] == 3 and lost.status == "warn"
    assert lost.row_values["train"]["trained_tokens"][2] == 0 and lost.evidence[0].untrainable_lines == (2,)
    every_turn = audit(toy_chat, only=["tokens"], overrides={"tokens": low}).check("tokens")
    # trained on every assistant turn (OpenAI's default weight), line 2 keeps its early replies: partly cut
    assert not any(f.code == "TOK002" for f in every_turn.findings)
    assert 2 in next(f for f in every_turn.findings if f.code == "TOK006").rows


def test_cookbook_epoch_rule() -> None:
    assert default_epochs(5, DEFAULTS) == 20
    assert default_epochs(33, DEFAULTS) == 3 and default_epochs(30, DEFAULTS) == 3  # 100 // 33, 100 // 30
    assert default_epochs(20, DEFAULTS) == 5 and default_epochs(2, DEFAULTS) == 25
    assert default_epochs(1000, DEFAULTS) == 3
    assert default_epochs(10003, DEFAULTS) == 2 and default_epochs(50000, DEFAULTS) == 1
    assert default_epochs(50000, {**DEFAULTS, "epochs": 4}) == 4


@pytest.mark.parametrize(
    ("source", "label", "rows", "epochs"),
    [pytest.param("real", "category", 10003, 2, marks=pytest.mark.calibration), ("sample", "intent", 240, 3)],
)
def test_banking_counts_cost_and_speed(source: str, label: str, rows: int, epochs: int, isolated_config: Path) -> None:
    banking_train = shared_file("banking77", "train.csv") if source == "real" else SAMPLE / "bank_intents.csv"
    price = {"tokens": {"price_per_million_training_tokens": 3.0}}
    result = audit(banking_train, only=["tokens"], overrides=price).check("tokens")
    encoding = load_encoding("cl100k_base")
    with open(banking_train, encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    tokens = result.row_values["train"]["tokens"]
    lines = sorted(tokens)  # some texts span lines, so rows are matched by order
    assert len(records) == len(lines) == rows
    for index, record in enumerate(records):  # a classification row is a user and an assistant message
        words = len(encoding.encode(record["text"])) + len(encoding.encode(record[label]))
        assert tokens[lines[index]] == 3 + 2 * (3 + 1) + words
    m = result.metrics
    assert m["examples_counted"] == rows and m["epochs"] == epochs
    assert m["token_p50"] <= m["token_p90"] <= m["token_max"] == max(tokens.values())
    assert m["billed_tokens_per_epoch"] == sum(tokens.values())
    assert m["training_tokens"] == epochs * m["billed_tokens_per_epoch"]
    assert m["training_cost_usd"] == round(m["training_tokens"] / 1e6 * 3.0, 2)
    assert m["monthly_tokens_saved"] is None and m["break_even_months"] is None
    assert result.seconds < 5


@pytest.mark.parametrize("source", SOURCES)
def test_function_calling_set_counts_tool_definitions_and_savings(source: str, isolated_config: Path) -> None:
    drone = shared_file("openai_cookbook", "drone_training.jsonl") if source == "real" else SAMPLE / "tool_calls.jsonl"
    context = {"monthly_volume": 200_000, "current_prompt_tokens": 2500}
    result = audit(drone, only=["tokens"], overrides={"context": context}).check("tokens")
    m = result.metrics
    lines = drone.read_text(encoding="utf-8").splitlines()
    tools = json.loads(lines[0])["tools"]
    per_row = len(load_encoding("cl100k_base").encode(json.dumps(tools, ensure_ascii=False, sort_keys=True)))
    assert m["tool_definition_tokens"] >= len(lines) * per_row * 0.9 and m["token_p50"] > per_row
    assert m["fine_tuned_prompt_tokens"] > per_row  # tools are sent with every request too
    saved = 200_000 * (2500 - m["fine_tuned_prompt_tokens"])
    assert m["monthly_tokens_saved"] == saved
    assert m["break_even_months"] == pytest.approx(m["training_cost_usd"] / (saved / 1e6 * 3.75), abs=0.01)
    assert not any(f.code == "TOK004" for f in result.findings)
    short_prompt = audit(drone, only=["tokens"], overrides={"context": {**context, "current_prompt_tokens": 300}})
    result = short_prompt.check("tokens")
    assert result.metrics["break_even_months"] is None and result.metrics["monthly_tokens_saved"] < 0
    assert next(f for f in result.findings if f.code == "TOK004").data["break_even_months"] is None


def test_unavailable_encoding_is_an_error_result(isolated_config: Path) -> None:
    result = audit(
        SAMPLE / "support_train.jsonl", only=["tokens"], overrides={"tokens": {"encoding": "no_such_encoding"}}
    ).check("tokens")
    assert result.status == "error" and "no_such_encoding" in result.summary
