from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from auditor.api import audit
from auditor.evidence import ConsistencyEvidence, SizeEvidence
from auditor.pairs import is_refusal, mismatch, one_word_apart
from auditor.report import html_report, markdown
from auditor.text import normalize
from bench.preference_bench import DEFECTS, flagged_rows, gsm8k, inject, math_pairs, scores
from tests.conftest import SAMPLE, shared_file

NO_NEAR = {"preference": {"near_prompts": False}}
GOOD = "Open the app, tap Card, then Reset PIN and follow the steps."
BAD = "Please call our support line."


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def dialect_rows(dialect: str, prompt: str, chosen: str, rejected: str) -> dict[str, Any]:
    if dialect == "preference/standard":
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if dialect == "preference/conversational":
        return {"prompt": [user(prompt)], "chosen": [bot(chosen)], "rejected": [bot(rejected)]}
    if dialect == "preference/implicit":
        return {"chosen": [user(prompt), bot(chosen)], "rejected": [user(prompt), bot(rejected)]}
    if dialect == "preference/implicit-text":
        return {
            "chosen": f"\n\nHuman: {prompt}\n\nAssistant: {chosen}",
            "rejected": f"\n\nHuman: {prompt}\n\nAssistant: {rejected}",
        }
    if dialect == "openai_preference":
        return {
            "input": {"messages": [user(prompt)]},
            "preferred_output": [bot(chosen)],
            "non_preferred_output": [bot(rejected)],
        }
    if dialect == "alpaca_preference":
        return {"instruction": prompt, "input": "", "chosen": chosen, "rejected": rejected}
    if dialect == "sharegpt_preference":
        return {
            "conversations": [{"from": "human", "value": prompt}],
            "chosen": {"from": "gpt", "value": chosen},
            "rejected": {"from": "gpt", "value": rejected},
        }
    raise AssertionError(dialect)


@pytest.mark.parametrize(
    "dialect",
    [
        "preference/standard",
        "preference/conversational",
        "preference/implicit",
        "preference/implicit-text",
        "openai_preference",
        "alpaca_preference",
        "sharegpt_preference",
    ],
)
def test_every_paired_dialect_is_audited_as_pairs(dialect: str, tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        dialect_rows(dialect, "How do I reset my card PIN?", GOOD, BAD),
        dialect_rows(dialect, "How do I reset my card PIN?", BAD, GOOD),
        dialect_rows(
            dialect,
            "Can I freeze my card?",
            "Yes, tap Card and then Freeze in the app.",
            "Yes, tap Card and then Freeze in the app!",
        ),
    ]
    rows += [
        dialect_rows(dialect, f"What does fee code {k} mean?", f"Fee code {k} is the monthly account fee.", "No idea.")
        for k in range(4)
    ]
    report = audit(write_jsonl(tmp_path / "prefs.jsonl", rows), only=["preference", "size"], overrides=NO_NEAR)
    train = report.inputs["train"]
    assert train.task == "preference" and train.format == dialect.split("/")[0]
    check = report.check("preference")
    codes = {f.code: set(f.rows) for f in check.findings}
    assert codes["PREF003"] == {1, 2}
    assert codes["PREF002"] == {3}
    assert "PREF001" not in codes
    assert check.metrics["pairs"] == train.rows_valid
    issues = report.annotations.filter(report.annotations["split"] == "train")["pair_issue"].to_list()
    assert issues[:2] == ["PREF003", "PREF003"] and issues[3:] == [None] * 4
    evidence = next(e for e in check.evidence if isinstance(e, ConsistencyEvidence))
    assert evidence.source == "preference"
    assert evidence.inconsistent_rows == len(codes["PREF003"] | codes.get("PREF002", set()))
    size = next(e for e in report.check("size").evidence if isinstance(e, SizeEvidence))
    assert size.unit == "pairs" and size.usable == train.rows_valid - evidence.inconsistent_rows
    assert size.removed_unpaired == evidence.inconsistent_rows


def test_kto_rows_labelled_both_ways_and_balance(tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        {"prompt": "How do I order a card?", "completion": "Tap Card, then Order.", "label": True},
        {"prompt": "How do I order a card?", "completion": "Tap Card, then Order.", "label": False},
    ]
    rows += [
        {"prompt": f"Fee code {k}?", "completion": f"Fee code {k} is the account fee.", "label": True} for k in range(7)
    ]
    rows += [{"prompt": f"Charge {k}?", "completion": "No idea.", "label": False} for k in range(2)]
    report = audit(write_jsonl(tmp_path / "kto.jsonl", rows), only=["preference", "size"], overrides=NO_NEAR)
    assert report.inputs["train"].format == "kto"
    check = report.check("preference")
    conflict = next(f for f in check.findings if f.code == "PREF010")
    assert set(conflict.rows) == {1, 2}
    assert check.metrics["kto"]["desirable"] == 8 and check.metrics["kto"]["undesirable"] == 3
    balance = next(f for f in check.findings if f.code == "PREF009")
    assert balance.severity == "info" and check.metrics["kto"]["suggested_weight"] == {"undesirable_weight": 2.67}
    assert check.metrics["usable_pairs"] == 9
    size = next(e for e in report.check("size").evidence if isinstance(e, SizeEvidence))
    assert size.removed_unpaired == 2 and size.removed_duplicates == 0
    assert size.removed_untrainable == 0  # undesirable completions are trained on too (as negative examples)
    assert report.check("size").metrics["usable_examples"] == size.usable == check.metrics["usable_pairs"]


def test_sides_that_part_before_the_final_reply(tmp_path: Path, isolated_config: Path) -> None:
    earlier = {
        "prompt": [user("My card was declined")],
        "chosen": [bot("Where did you pay?"), user("Online"), bot("Turn on online payments in Card settings.")],
        "rejected": [bot("Try again later.")],
    }
    tail = {
        "prompt": [user("Is my card blocked?")],
        "chosen": [bot("No, it is active.")],
        "rejected": [bot("Maybe."), user("Thanks")],
    }
    path = write_jsonl(tmp_path / "p.jsonl", [earlier, tail, dialect_rows("preference/standard", "Hi", GOOD, BAD)])
    report = audit(path, only=["preference"], overrides=NO_NEAR)
    finding = next(f for f in report.check("preference").findings if f.code == "PREF001")
    assert finding.rows == (1, 2) and finding.severity == "error"
    assert "turns before its final reply" in finding.data["why"]["1"] and "user turn" in finding.data["why"]["2"]


def test_implicit_sides_that_part_later_are_pairs_the_check_reports(tmp_path: Path, isolated_config: Path) -> None:
    ask, answer = user("My card was declined"), bot("Where did you pay?")
    later_user = {
        "chosen": [ask, answer, user("Online"), bot("Turn on online payments in Card settings.")],
        "rejected": [ask, answer, user("In a shop"), bot("Try the chip instead of tapping.")],
    }
    later_system = {
        "chosen": [ask, {"role": "system", "content": "Be brief."}, bot("Turn on online payments.")],
        "rejected": [ask, {"role": "system", "content": "Be formal."}, bot("Please contact us.")],
    }
    same = {
        "chosen": [user("Is my card blocked?"), bot("No, it is active.")],
        "rejected": [user("Is my card blocked?"), bot("No, it is active.")],
    }
    no_prompt = {"chosen": [user("Cancel order 7"), bot("Done.")], "rejected": [user("Refund order 9"), bot("Done.")]}
    clean = [
        {
            "chosen": [user(f"What does fee code {k} mean?"), bot(f"Fee code {k} is the monthly account fee.")],
            "rejected": [user(f"What does fee code {k} mean?"), bot("No idea.")],
        }
        for k in range(6)
    ]
    path = write_jsonl(tmp_path / "implicit.jsonl", [later_user, later_system, same, no_prompt, *clean])
    report = audit(path, only=["format", "preference", "size"], overrides=NO_NEAR)
    train = report.inputs["train"]
    assert (train.format, train.rows_valid) == ("preference", 9)
    refused = [f for f in report.check("format").findings if f.code == "FMT016"]
    assert [f.rows for f in refused] == [(4,)]
    codes = {f.code: set(f.rows) for f in report.check("preference").findings}
    assert codes["PREF001"] == {1, 2} and codes["PREF002"] == {3}
    why = next(f for f in report.check("preference").findings if f.code == "PREF001").data["why"]
    assert "turn 3 (user turn)" in why["1"] and "turn 2 (system turn)" in why["2"]
    evidence = next(e for e in report.check("preference").evidence if isinstance(e, ConsistencyEvidence))
    assert evidence.inconsistent_rows == 3 and evidence.rows_checked == 9
    assert report.check("size").metrics["usable_examples"] == 6


TOPICS = (
    "card PIN reset",
    "foreign transfer fees",
    "lost card",
    "account closing",
    "address change",
    "overdraft limits",
    "savings interest",
    "cash withdrawal limits",
    "direct debits",
    "mobile app login",
)


def test_several_pairs_per_prompt_are_not_duplicates(tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        dialect_rows(
            "preference/standard",
            f"Can you explain {topic}?",
            f"Here is how {topic} works, step {k}.",
            f"Sorry, {topic} is not something I know about ({k}).",
        )
        for topic in TOPICS
        for k in range(3)
    ]  # UltraFeedback-like: several pairs per prompt
    rows.append(dict(rows[4]))  # one pair repeated: prompt and both sides
    evals = [
        dialect_rows("preference/standard", f"Can you explain {TOPICS[2]}?", "Block it in the app.", "No."),
        dialect_rows("preference/standard", "Is there a student account?", "Yes, from age 16.", "No."),
    ]
    report = audit(
        write_jsonl(tmp_path / "uf.jsonl", rows),
        eval=write_jsonl(tmp_path / "eval.jsonl", evals),
        only=["duplicates", "preference", "size"],
    )
    dup = report.check("duplicates")
    codes = {f.code: set(f.rows) for f in dup.findings}
    assert codes.get("DUP001") == {5, 31} and "DUP002" not in codes and "DUP003" not in codes
    assert codes["DUP004"] == {1} and dup.metrics["effective_rows"] == 30
    check = report.check("preference")
    assert check.metrics["prompts"] == 10 and check.metrics["pairs_per_prompt"]["max"] == 4
    assert report.check("size").metrics["usable_examples"] == check.metrics["usable_pairs"] == 30
    groups = report.annotations.filter(report.annotations["split"] == "train")["exact_group"].to_list()
    assert [k + 1 for k, g in enumerate(groups) if g is not None] == [5, 31]


def test_a_shorter_rejected_reply_is_not_truncation(tmp_path: Path, isolated_config: Path) -> None:
    long = "is the monthly account fee, charged on the first day of each month."
    rows = [
        dialect_rows("preference/standard", f"What does fee code {k} mean?", f"Fee code {k} {long}", "No idea.")
        for k in range(5)
    ]
    rows.append(
        dialect_rows(
            "preference/standard",
            "What is fee code 9?",
            "The card fee.",
            "Fee code 9 is the card replacement fee " + "and it is charged once " * 30,
        )
    )
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    tokens = audit(path, only=["tokens"]).check("tokens")
    assert tokens.metrics["outputs_truncated"] == 0 and "TOK006" not in {f.code for f in tokens.findings}
    short = audit(path, only=["tokens", "size"], overrides={"tokens": {"max_seq_len": 60}})
    cut = next(f for f in short.check("tokens").findings if f.code == "TOK006")
    assert cut.rows == (6,) and short.check("size").metrics["untrainable_rows"] == 0


def test_one_word_apart_spares_minimal_pairs() -> None:
    key = normalize
    assert one_word_apart(
        key("Your statements are listed under Account in the app."),
        key("Your statements are shown under Account in the app."),
        5,
    )
    assert one_word_apart(key("Tap Card and then Freeze in the app."), key("Tap Card then Freeze in the app."), 5)
    assert not one_word_apart(key("The answer is 42 apples in total."), key("The answer is 43 apples in total."), 5)
    assert not one_word_apart(
        key("You can close the account online today."), key("You cannot close the account online today."), 5
    )
    assert not one_word_apart(key("You can do it online."), key("You can't do it online."), 5)
    assert not one_word_apart(key("Yes, it is."), key("No, it is."), 5)
    assert not one_word_apart(key("Open the app and tap Card."), key("Open the website and click Card."), 5)


def test_mismatch_reads_the_turns() -> None:
    prompt = [user("hi")]
    same = json.dumps(prompt + [bot("a")]), json.dumps(prompt + [bot("b")])
    assert mismatch(*same) is None
    other_system = json.dumps([{"role": "system", "content": "x"}, *prompt, bot("b")])
    assert "differ at turn 1 (role)" in (mismatch(same[0], other_system) or "")
    assert "turns before" in (mismatch(json.dumps(prompt + [bot("a"), user("more"), bot("c")]), same[1]) or "")
    assert "ends with a user turn" in (mismatch(same[0], json.dumps(prompt + [bot("b"), user("ok")])) or "")


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I cannot provide that information.",
        "As an AI language model, I don't have opinions.",
        "I must decline this request.",
        "Sorry, that's not something I can help with.",
        "I’m afraid I can’t do that.",
        "Unfortunately, I am unable to share it.",
        "I won't be able to assist here.",
    ],
)
def test_refusals(text: str) -> None:
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sorry to hear your card was lost; I have blocked it.",
        "I can help with that!",
        "You cannot withdraw more than 500 euros a day.",
        "We can't see the transfer yet.",
        "Natalia sold 48/2 = 24 clips in May.\n#### 72",
        "",
        "I am like a moth to a flame; I can't help but be drawn to her.",
    ],
)
def test_not_refusals(text: str) -> None:
    assert not is_refusal(text)


def sample_math(limit: int | None = None) -> list[tuple[str, str]]:
    """The hand-written word problems in sample_data (GSM8K's shape: a worked answer ending in `#### n`)."""
    rows = [json.loads(line) for line in (SAMPLE / "math_word_problems.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(r["question"], r["answer"]) for r in rows[:limit]]


def sample_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLE / name).read_text(encoding="utf-8").splitlines()]


def test_refusal_patterns_on_sample_replies() -> None:
    replies = [answer for _, answer in sample_math()]
    replies += [r["output"] for r in sample_lines("instructions.jsonl")]
    replies += [
        m["content"] for r in sample_lines("support_train.jsonl") for m in r["messages"] if m["role"] == "assistant"
    ]
    flagged = [text for text in replies if is_refusal(text)]
    assert len(replies) > 340 and sum("sorry" in t.lower() or "cannot" in t.lower() for t in replies) > 5
    assert flagged == [sample_lines("instructions.jsonl")[11]["output"]]
    assert flagged[0].startswith("You are requesting personal information.")


@pytest.mark.calibration
def test_refusal_patterns_on_real_replies() -> None:
    replies = [json.loads(line)["answer"] for line in open(shared_file("gsm8k", "train.jsonl"), encoding="utf-8")]
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        with open(shared_file("self_instruct", name), encoding="utf-8") as handle:
            replies += [i["output"] for line in handle for i in json.loads(line)["instances"]]
    flagged = [text for text in replies if is_refusal(text)]
    assert len(replies) > 7800
    assert flagged == [
        "You are requesting personal information. Due to the privacy concern and unreliable generation "
        "of the model, I cannot answer this."
    ]


def test_ratings_ties_reversed_and_margins(tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        dict(
            dialect_rows("preference/standard", f"Question {w}?", f"A full answer about {w}.", "No."),
            score_chosen=c,
            score_rejected=r,
        )
        for w, c, r in (("fees", 8, 3), ("cards", 5, 5), ("loans", 2, 7), ("pins", 9, 1))
    ]
    check = audit(write_jsonl(tmp_path / "r.jsonl", rows), only=["preference"], overrides=NO_NEAR).check("preference")
    ratings = next(f for f in check.findings if f.code == "PREF004")
    assert ratings.rows == (2, 3) and ratings.data == {"ties": 1, "reversed": 1}
    assert check.metrics["ratings"]["margin_counts"] == {"-5": 1, "0": 1, "5": 1, "8": 1}


def test_length_bias_on_math_pairs(tmp_path: Path, isolated_config: Path) -> None:
    rows = sample_math()
    for shorter, expected in ((True, True), (False, False)):
        path = write_jsonl(tmp_path / f"len_{shorter}.jsonl", math_pairs(rows, random.Random(7), shorter=shorter))
        check = audit(path, only=["preference"], overrides=NO_NEAR).check("preference")
        assert any(f.code == "PREF005" for f in check.findings) is expected, check.metrics["length"]
        bins = check.metrics["length"]["ratio_bins"]
        assert sum(b["pairs"] for b in bins) == check.metrics["length"]["pairs"] == len(rows) == 101
    assert check.metrics["length"]["predictiveness"] < 0.6


@pytest.mark.parametrize("source", [pytest.param("gsm8k", marks=pytest.mark.calibration), "sample"])
def test_injected_defects_are_found(source: str, tmp_path: Path, isolated_config: Path) -> None:
    if source == "gsm8k":
        shared_file("gsm8k", "train.jsonl")
        rows, rate, others = gsm8k(400), 0.04, [q for q, _ in gsm8k(600)[500:]]
    else:
        rows, rate, others = sample_math(80), 0.05, [q for q, _ in sample_math()[80:]]
    noisy, truth = inject(math_pairs(rows, random.Random(1)), random.Random(3), rate, others)
    assert min(len(lines) for lines in truth.values()) >= 4
    report = audit(write_jsonl(tmp_path / "noisy.jsonl", noisy), only=["format", "preference", "size"])
    assert not [f for f in report.check("format").findings if f.code == "FMT016"]
    check = report.check("preference")
    for code in DEFECTS:
        flagged = flagged_rows(check, code)
        precision, recall = scores(flagged, truth[code])
        assert precision >= 0.95 and recall >= 0.95, (code, precision, recall)
    usable = report.check("size").metrics["usable_examples"]
    assert report.verdict.usable_examples == usable == check.metrics["usable_pairs"]


def test_scorecards_show_the_preference_section(tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        dialect_rows(
            "preference/standard",
            f"What does fee code {k} mean?",
            f"Fee code {k} is the account fee.",
            "I'm sorry, but I can't help with that.",
        )
        for k in range(6)
    ]
    report = audit(write_jsonl(tmp_path / "p.jsonl", rows), only=["preference", "size"], overrides=NO_NEAR).to_dict()
    text = markdown.render(report)
    assert "## Preference pairs" in text and "| refusals: chosen / rejected | 0.0% / 100.0% |" in text
    page = html_report.render(report)
    assert "<h2>Preference pairs</h2>" in page and 'aria-label="chosen/rejected length ratio"' in page
    report["checks"] = [
        dict(c, metrics={"length": {"ratio_bins": [{"from": "<script>", "to": None, "pairs": "x"}]}})
        if c["id"] == "preference"
        else c
        for c in report["checks"]
    ]
    page = html_report.render(report)
    assert "<script>" not in page and "chart omitted" in page


def test_not_preference_data_is_skipped(tmp_path: Path, isolated_config: Path) -> None:
    path = write_jsonl(tmp_path / "sft.jsonl", [{"prompt": f"q{k}", "completion": f"a{k}"} for k in range(5)])
    assert audit(path, only=["preference"]).check("preference").status == "skipped"
