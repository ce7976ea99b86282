from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from auditor.api import audit
from auditor.outputs import final_answer, shared_affix
from auditor.vocabulary import spelling_groups
from bench.labels_bench import (
    classification_rows,
    flip,
    found_spellings,
    found_together,
    inject_answers,
    inject_label_defects,
    scores,
)
from tests.conftest import SAMPLE, shared_file

REQUIRED_METRICS = {
    "task",
    "conflict_groups",
    "conflicting_rows",
    "vocabulary_variants",
    "suspected_mislabels",
    "mislabel_rate",
    "cv_accuracy",
    "learning_curve",
    "still_improving",
    "format_breaks",
    "contradictions",
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def jsonl_rows(*parts: str, limit: int | None = None) -> list[dict]:
    with open(shared_file(*parts), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:limit]


def sample_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLE / name).read_text(encoding="utf-8").splitlines()]


def intent_rows() -> list[dict[str, str]]:
    """The hand-written bank-app intents (240 queries, 10 intents) as {text, label}."""
    with open(SAMPLE / "bank_intents.csv", encoding="utf-8", newline="") as handle:
        return [{"text": r["text"], "label": r["intent"]} for r in csv.DictReader(handle)]


def labelled_rows(name: str) -> list[dict[str, str]]:
    if name == "intents":
        return intent_rows()
    shared_file(*(("banking77", "train.csv") if name == "banking77" else ("openai_cookbook", "dbpedia_samples.jsonl")))
    return classification_rows(name)


def test_tickets_sample_spellings_and_conflict(isolated_config: Path) -> None:
    report = audit(SAMPLE / "tickets.csv", only=["labels"])
    check = report.check("labels")
    assert REQUIRED_METRICS <= set(check.metrics)
    assert check.status == "warn" and check.metrics["task"] == "classification"
    vocabulary = next(f for f in check.findings if f.code == "LBL002")
    assert set(vocabulary.rows) == {30, 66, 103, 145}
    spellings = {g["label"]: g["spellings"] for g in vocabulary.data["groups"]}
    assert spellings["refund"]["refund "]["lines"] == [66] and spellings["tracking"]["Tracking"]["count"] == 1
    assert check.metrics["vocabulary_variants"] == 4
    conflict = next(f for f in check.findings if f.code == "LBL001")
    assert conflict.data["labels"] == {42: "damaged", 123: "refund"} and conflict.data["kind"] == "exact"
    assert check.metrics["conflict_groups"] == 1 and check.metrics["format_breaks"] == 0
    assert set(check.metrics["learning_curve"]) == {"0.25", "0.5", "1.0"}
    valid = report.annotations.filter(report.annotations["valid"])
    assert valid["label_issue_score"].null_count() == 0
    suspected = valid.filter(valid["suspected_label"].is_not_null())
    assert suspected.height == check.metrics["suspected_mislabels"]


@pytest.mark.parametrize(
    "name, limit", [pytest.param("banking77", 3000, marks=pytest.mark.calibration), ("intents", 240)]
)
def test_slice_suspects_flipped_labels(name: str, limit: int, tmp_path: Path, isolated_config: Path) -> None:
    rows = labelled_rows(name)[:limit]
    noisy, flipped = flip([r["label"] for r in rows], 0.05, seed=3)
    path = write_jsonl(tmp_path / "noisy.jsonl", [{"text": r["text"], "label": label} for r, label in zip(rows, noisy)])
    check = audit(path, only=["labels"]).check("labels")
    suggested = check.row_values["train"]["suspected_label"]
    truth = {row + 1 for row in flipped}
    precision, recall, f1 = scores(set(suggested), truth)
    assert f1 >= 0.8, (precision, recall)
    right = [suggested[line] == rows[line - 1]["label"] for line in truth & set(suggested)]
    assert sum(right) / len(right) >= 0.85
    assert 0.7 <= check.metrics["cv_accuracy"] <= 0.95
    assert check.metrics["mislabel_rate"] == round(len(suggested) / limit, 4)
    assert check.seconds < 15


@pytest.mark.parametrize(
    "name, limit, per_kind", [pytest.param("banking77", 1500, 12, marks=pytest.mark.calibration), ("intents", 240, 6)]
)
def test_injected_spellings_and_conflicting_copies_are_found(
    name: str, limit: int, per_kind: int, tmp_path: Path, isolated_config: Path
) -> None:
    rows, spelled, conflicts = inject_label_defects(labelled_rows(name)[:limit], per_kind, random.Random(5))
    check = audit(write_jsonl(tmp_path / f"{name}.jsonl", rows), only=["labels"]).check("labels")
    assert found_spellings(check, spelled) == len(spelled) == per_kind
    assert found_together(check, "LBL001", conflicts) == per_kind
    assert check.metrics["vocabulary_variants"] >= len(set(spelled.values()))


@pytest.mark.parametrize("name", [pytest.param("gsm8k", marks=pytest.mark.calibration), "math"])
def test_contradicting_final_answers(name: str, tmp_path: Path, isolated_config: Path) -> None:
    if name == "gsm8k":
        rows = jsonl_rows("gsm8k", "train.jsonl", limit=1000)
    else:
        rows = sample_jsonl("math_word_problems.jsonl")
    clean = audit(write_jsonl(tmp_path / "clean.jsonl", rows), only=["outputs"]).check("outputs")
    assert clean.metrics["final_answer_pattern"] == "#### <answer>"
    assert clean.metrics["contradictions"] == 0 and clean.status == "pass"
    noisy, pairs = inject_answers(rows, 5, random.Random(2))
    check = audit(write_jsonl(tmp_path / "noisy.jsonl", noisy), only=["outputs"]).check("outputs")
    assert found_together(check, "LBL006", pairs) == 5 and check.metrics["contradictions"] == 5
    assert {f.data["reason"] for f in check.findings if f.code == "LBL006"} == {"different final answers"}


def test_rows_without_final_answer_break_the_format(tmp_path: Path, isolated_config: Path) -> None:
    rows = sample_jsonl("math_word_problems.jsonl")
    clean = audit(write_jsonl(tmp_path / "clean.jsonl", rows), only=["outputs"]).check("outputs")
    assert clean.metrics["format_breaks"] == 0 and not [f for f in clean.findings if f.code == "LBL007"]
    for row in (10, 50, 90):
        rows[row] = {**rows[row], "answer": rows[row]["answer"].rsplit("####", 1)[0].strip()}
    check = audit(write_jsonl(tmp_path / "gsm.jsonl", rows), only=["outputs"]).check("outputs")
    breaks = [f for f in check.findings if f.code == "LBL007"]
    assert [(f.data["rule"], f.rows) for f in breaks] == [("final-answer line", (11, 51, 91))]
    assert check.metrics["format_breaks"] == 3 and check.status == "warn"


def test_tool_call_rows_breaking_the_schema(tmp_path: Path, isolated_config: Path) -> None:
    rows = sample_jsonl("tool_calls.jsonl")
    clean = audit(write_jsonl(tmp_path / "clean.jsonl", rows), only=["outputs"]).check("outputs")
    assert clean.status == "pass" and clean.metrics["format_breaks"] == 0
    calls = [r["messages"][-1]["tool_calls"][0]["function"] for r in rows]
    slots = [i for i, call in enumerate(calls) if "time_slot" in call["arguments"]]
    call = rows[slots[2]]["messages"][-1]["tool_calls"][0]["function"]
    call["arguments"] = json.dumps({**json.loads(call["arguments"]), "time_slot": 18})
    rows[5]["messages"][-1] = {"role": "assistant", "content": "I have opened a damage claim for you."}
    check = audit(write_jsonl(tmp_path / "tools.jsonl", rows), only=["outputs"]).check("outputs")
    rules = {f.data["rule"]: f.rows for f in check.findings if f.code == "LBL007"}
    assert rules == {
        "tool call or text reply": (6,),
        "type of tool argument reschedule_delivery.time_slot": (slots[2] + 1,),
    }


def test_support_sample_contradiction_and_system_prompts(tmp_path: Path, isolated_config: Path) -> None:
    with open(SAMPLE / "support_train.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    check = audit(SAMPLE / "support_train.jsonl", only=["outputs"]).check("outputs")
    contradiction = next(f for f in check.findings if f.code == "LBL006")
    assert contradiction.rows == (48, 164) and contradiction.data["reason"] == "different figures"
    assert check.metrics["contradictions"] == 1 and check.metrics["system_prompts"] == 1
    for row in (3, 9, 27):
        rows[row]["messages"][0]["content"] = "You are a pirate. Answer every question in pirate speak."
    paypal = json.loads(json.dumps(rows[65]))
    paypal["messages"][-1]["content"] = (
        "Lockers stay open around the clock; scan the QR code from your email to collect."
    )
    check = audit(write_jsonl(tmp_path / "prompts.jsonl", rows + [paypal]), only=["outputs"]).check("outputs")
    prompts = next(f for f in check.findings if f.code == "LBL008")
    assert prompts.rows == (4, 10, 28) and prompts.severity == "warning" and check.metrics["system_prompts"] == 2
    diverging = [f for f in check.findings if f.code == "LBL006" and f.data["reason"] == "diverging outputs"]
    assert [f.rows for f in diverging] == [(66, 112, len(rows) + 1)]


def test_too_many_conflicts_fail(tmp_path: Path, isolated_config: Path) -> None:
    rows = intent_rows()
    rng = random.Random(1)
    labels = sorted({r["label"] for r in rows})
    copies = [
        {"text": r["text"], "label": rng.choice([other for other in labels if other != r["label"]])} for r in rows[:20]
    ]
    check = audit(write_jsonl(tmp_path / "conflicts.jsonl", rows + copies), only=["labels"]).check("labels")
    assert check.status == "fail" and check.metrics["conflict_groups"] == 20
    assert check.metrics["inconsistent_share"] > 0.1
    assert any(f.code == "LBL009" and f.severity == "error" for f in check.findings)


def test_no_valid_rows_is_skipped(isolated_config: Path) -> None:
    check = audit(SAMPLE / "broken" / "empty.jsonl", only=["labels"]).check("labels")
    assert check.status == "skipped" and "no valid" in check.summary


def test_a_one_label_classification_set_fails_and_keeps_prompting(tmp_path: Path, isolated_config: Path) -> None:
    rows = [{"text": f"Where is my parcel number {i}? It has not arrived.", "label": "tracking"} for i in range(150)]
    report = audit(write_jsonl(tmp_path / "one.jsonl", rows), only=["format", "duplicates", "size", "labels"])
    check = report.check("labels")
    assert check.status == "fail" and [f.code for f in check.findings] == ["LBL012"]
    assert report.verdict.decision == "keep-prompting" and any("one label" in r for r in report.verdict.reasons)


def test_spelling_groups_fold_and_typos_but_not_digits_or_short_labels() -> None:
    labels = [
        "Positive",
        "positive ",
        "POSITIVE",
        "postive",
        "negative",
        "neutral",
        "nuetral",
        "class_1",
        "class_2",
        "cat",
        "car",
    ]
    assert sorted(map(sorted, spelling_groups(labels, 0.1, 5))) == [
        ["POSITIVE", "Positive", "positive ", "postive"],
        ["neutral", "nuetral"],
    ]


@pytest.mark.calibration
def test_banking77_intents_are_not_spelling_variants() -> None:
    with open(shared_file("banking77", "train.csv"), encoding="utf-8") as handle:
        assert spelling_groups([r["category"] for r in csv.DictReader(handle)], 0.1, 5) == []


TRAVEL_INTENTS = [
    "book_flight",
    "book_hotel",
    "cancel_flight",
    "cancel_hotel",
    "change_flight",
    "change_hotel",
    "check_in",
    "check_out",
    "flight_status",
    "flight_delay",
    "baggage_fee",
    "baggage_lost",
    "baggage_damaged",
    "seat_upgrade",
    "seat_selection",
    "refund_status",
    "refund_request",
    "car_rental",
    "car_return",
    "visa_info",
    "travel_insurance",
    "meal_preference",
    "pet_policy",
    "late_checkout",
    "early_checkin",
]


def test_distinct_intent_names_are_not_spelling_variants() -> None:
    intents = sorted({r["label"] for r in intent_rows()})
    assert len(intents) == 10 and spelling_groups(intents, 0.1, 5) == []
    assert spelling_groups(TRAVEL_INTENTS, 0.1, 5) == []
    groups = spelling_groups(TRAVEL_INTENTS + ["Book_Flight", "cancel-hotel", "chekc_in"], 0.1, 5)
    assert sorted(map(sorted, groups)) == [
        ["Book_Flight", "book_flight"],
        ["cancel-hotel", "cancel_hotel"],
        ["check_in", "chekc_in"],
    ]


def test_final_answers_and_markers() -> None:
    assert (
        final_answer("so 1000 in all\n#### 1,000", "#### <answer>")
        == final_answer("#### 1000.0", "#### <answer>")
        == "1000"
    )
    assert final_answer("The answer is $12.50.", "the answer is <answer>") == "12.5"
    assert final_answer("no final line", "#### <answer>") is None
    assert shared_affix([" yes END", " no END", " maybe END", "x"], 0.7, suffix=True) == " END"
    assert shared_affix(["Sure, here it is.", "Sure, the code.", "Sure, fine."], 0.9, suffix=False) == ""
    assert shared_affix([" a", " b", " c", "d"], 0.7, suffix=False) == " "
