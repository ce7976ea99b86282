from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from auditor.api import audit
from auditor.dedup import NearParams, near_duplicates, prepare, word_edits, words
from bench.inject import EXACT, NEAR
from tests.conftest import shared_file


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def banking_rows(limit: int) -> list[dict]:
    with open(shared_file("banking77", "train.csv"), encoding="utf-8") as handle:
        return [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(handle)][:limit]


def test_word_edits_count_typos_drops_and_swaps_once() -> None:
    def edits(a: str, b: str) -> int:
        return word_edits(words(a.lower()), words(b.lower()), 5)

    assert edits("where is my parcel today", "where is my parcle today") == 1
    assert edits("where is my parcel today", "where is parcel today") == 1
    assert edits("where is my parcel today", "where my is parcel today") == 1
    assert edits("where is my parcel today", "where is my letter today") == 2
    assert edits("it costs 270 dollars", "it costs 360 dollars") == 2


@pytest.mark.calibration
def test_banking77_whitespace_duplicates_are_exact_groups(banking_train: Path, isolated_config: Path) -> None:
    report = audit(banking_train, only=["duplicates", "size"])
    dup = report.check("duplicates")
    assert dup.metrics["exact_groups"] >= 4
    exact = [f for f in dup.findings if f.code == "DUP001"]
    assert any(1292 in f.rows for f in exact), "the row with a leading newline (line 1292) duplicates another row"
    assert all(f.data["outputs_agree"] for f in exact)
    size = report.check("size")
    assert size.metrics["usable_examples"] == dup.metrics["effective_rows"] < 10003
    assert size.metrics["tier"] == "strong"
    groups = report.annotations.filter(report.annotations["exact_group"].is_not_null())
    assert groups.height == sum(f.data["size"] for f in exact)


@pytest.mark.calibration
def test_injected_variants_are_found_on_real_data(tmp_path: Path, isolated_config: Path) -> None:
    rng = random.Random(7)
    rows = banking_rows(1200)
    gsm = [json.loads(line) for line in open(shared_file("gsm8k", "train.jsonl"), encoding="utf-8")][:300]
    rows += [{"text": g["question"], "label": "math"} for g in gsm]
    sources = rng.sample(range(len(rows)), 70)
    truth = []
    for n, source in enumerate(sources):
        kinds = {**EXACT, **NEAR}
        kind = list(kinds)[n % len(kinds)]
        truth.append((source + 1, len(rows) + 1, kind))
        rows.append({"text": kinds[kind](rows[source]["text"], rng), "label": rows[source]["label"]})
    report = audit(write_jsonl(tmp_path / "mixed.jsonl", rows), only=["duplicates"])
    near = dict(zip(report.annotations["line"].to_list(), report.annotations["near_group"].to_list()))
    found = [near[s] is not None and near[s] == near[v] for s, v, _ in truth]
    assert sum(found) / len(found) >= 0.95, [t for t, ok in zip(truth, found) if not ok]
    exact_kinds = [ok for ok, (_, _, kind) in zip(found, truth) if kind in EXACT]
    assert all(exact_kinds)
    injected = {line for s, v, _ in truth for line in (s, v)}
    flagged = {line for line, g in near.items() if g is not None}
    baseline = audit(write_jsonl(tmp_path / "base.jsonl", rows[:1500]), only=["duplicates"])
    already = {
        line
        for line, g in zip(baseline.annotations["line"].to_list(), baseline.annotations["near_group"].to_list())
        if g is not None
    }
    new_flags = flagged - (already - injected)
    assert len(new_flags & injected) / len(new_flags) >= 0.95


def test_templated_prompts_are_not_all_duplicates(tmp_path: Path, isolated_config: Path) -> None:
    template = (
        "You are a sentiment classifier. Read the customer review below and answer positive or negative.\nReview: {}"
    )
    reviews = [
        "the blender broke after two days",
        "fast delivery and it works great",
        "terrible smell, sent it back",
        "my kids love this puzzle",
        "battery lasts a whole week",
        "the zipper came off immediately",
        "exactly as described, very happy",
        "arrived scratched and dented",
        "comfortable and warm jacket",
    ]
    rows = [
        {"prompt": template.format(r), "completion": "positive" if i % 2 else "negative"} for i, r in enumerate(reviews)
    ]
    rows.append({"prompt": template.format("the blender broke after two dyas"), "completion": "negative"})
    report = audit(write_jsonl(tmp_path / "templated.jsonl", rows), only=["duplicates"])
    dup = report.check("duplicates")
    assert dup.metrics["template"]["prefix"].startswith("you are a sentiment classifier")
    near = [f.rows for f in dup.findings if f.code == "DUP002"]
    assert near == [(1, 10)]


@pytest.mark.calibration
def test_eval_leakage_and_production_overlap(tmp_path: Path, isolated_config: Path) -> None:
    rng = random.Random(3)
    train_rows = banking_rows(600)
    train = write_jsonl(tmp_path / "train.jsonl", train_rows)
    fresh = banking_rows(3000)[2000:2040]
    eval_rows = fresh[:20] + [
        train_rows[10],
        {"text": NEAR["typo"](train_rows[20]["text"], rng), "label": train_rows[20]["label"]},
        {"text": "  " + train_rows[30]["text"].upper(), "label": train_rows[30]["label"]},
    ]
    eval_file = write_jsonl(tmp_path / "eval.jsonl", eval_rows)
    prod = tmp_path / "prod.txt"
    prod.write_text(
        train_rows[40]["text"].strip() + "\n" + "a question nobody in training asked about llamas\n", encoding="utf-8"
    )
    report = audit(train, production=prod, eval=eval_file, only=["duplicates"])
    dup = report.check("duplicates")
    leaks = {f.rows[0]: (f.data["kind"], f.data["train_lines"]) for f in dup.findings if f.code == "DUP004"}
    assert leaks[21] == ("exact", [11]) and leaks[23] == ("exact", [31])
    assert leaks[22][0] == "near" and 21 in leaks[22][1]
    assert set(leaks) == {21, 22, 23}
    assert dup.metrics["eval_leaked_rows"] == 3 and dup.status == "fail"
    seen = next(f for f in dup.findings if f.code == "DUP005")
    assert seen.rows == (1,) and seen.split == "production"
    annotated = report.annotations.filter(report.annotations["split"] == "eval")
    assert annotated.filter(annotated["line"] == 21)["duplicate_of_train_line"].to_list() == [11]


def test_prepare_strips_a_shared_template() -> None:
    texts = [
        f"Summarise the following support ticket for the on-call engineer please: ticket {i} text" for i in range(10)
    ]
    prepared = prepare(texts, NearParams())
    assert prepared.template[0].startswith("summarise the following support ticket")
    assert all(len(t) <= 4 for t in prepared.tokens)


@pytest.mark.calibration
@pytest.mark.parametrize("kind", sorted(EXACT))
def test_exact_variants_normalise_to_the_same_key(kind: str) -> None:
    from auditor.text import normalize

    rng = random.Random(11)
    for row in banking_rows(200):
        assert normalize(EXACT[kind](row["text"], rng)) == normalize(row["text"])


def gsm8k_questions(limit: int) -> list[str]:
    with open(shared_file("gsm8k", "train.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle][:limit]


@pytest.mark.calibration
def test_varying_parts_set_aside_each_rows_own_preamble() -> None:
    from auditor.varying import varying_texts

    questions = gsm8k_questions(600)
    preambles = [
        " ".join(f"{w}{k}" for w in ("policy", "rule", "clause", "note", "item", "term") * 5) + ". Question:"
        for k in range(3)
    ]
    texts = [f"{preambles[i % 3]} {q}" if i % 2 else f"{q}\n{preambles[i % 3]}" for i, q in enumerate(questions)]
    varying = varying_texts(texts)
    assert varying.texts == [q.strip() for q in questions]
    assert varying.rows_with_shared_text == 600
    assert varying_texts(questions).texts == questions, "plain questions share no long block"


def test_near_groups_cannot_chain() -> None:
    from auditor.dedup import star_groups

    chain = star_groups(6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
    assert len(set(chain)) >= 3
    pairs = {(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)}
    for member, centre in enumerate(chain):
        assert member == centre or (min(member, centre), max(member, centre)) in pairs


def test_shared_preamble_makes_no_near_duplicates(tmp_path: Path, isolated_config: Path) -> None:
    cities = ["New York", "Los Angeles", "Sydney", "Paris", "Berlin", "Tokyo", "Cairo", "Lima", "Oslo", "Delhi"]
    tools = (
        "You can call get_weather(city, day) which returns the temperature, the humidity, the wind and the "
        "chance of rain for a city on a given day, and get_time(city) which returns the local time. Answer in "
        "one sentence, give temperatures in degrees Celsius and never invent a figure the tools did not return."
    )
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"{tools}\n\nWhat's the weather in {city} {day}?"},
                {"role": "assistant", "content": f"In {city} {day}: {20 + i}°C, humidity {40 + 3 * i}%."},
            ]
        }
        for i, city in enumerate(cities)
        for day in ("today", "tomorrow")
    ]
    rows.append(
        {
            "messages": [
                {"role": "user", "content": f"{tools}\n\nWhat's teh weather in Sydney today?"},
                {"role": "assistant", "content": "In Sydney today: 24°C, humidity 52%."},
            ]
        }
    )
    report = audit(write_jsonl(tmp_path / "weather.jsonl", rows), only=["duplicates", "outputs"])
    near = [f for f in report.check("duplicates").findings if f.code == "DUP002"]
    assert [f.rows for f in near] == [(5, 21)]
    assert "[-weather-]{+teh weather+}" in near[0].message or "teh" in near[0].message
    assert report.check("duplicates").metrics["rows_with_shared_text"] == 21
    contradictions = [f for f in report.check("outputs").findings if f.code == "LBL006"]
    assert [f.rows for f in contradictions] == [(5, 21)], "Sydney vs Paris is no contradiction; a typo'd copy is"


def test_near_identical_inputs_exclude_other_words_numbers_and_negations() -> None:
    from auditor.dedup import near_identical

    params = NearParams()
    assert near_identical("Where is my parcel today", "Where is my parcle today", params)
    assert near_identical("how do i top up my card", "how do i top up card", params)
    assert not near_identical("What is the weather in Sydney today?", "What is the weather in Paris today?", params)
    assert not near_identical("John has 5 apples and eats 2", "John has 6 apples and eats 2", params)
    assert not near_identical("I do not want my card", "I do want my card", params)


def test_quotes_show_where_near_identical_texts_differ() -> None:
    from auditor.text import diff_snippet, snippet_where_differs

    preamble = "You are a helpful assistant with tools. " * 10
    quote = diff_snippet(
        preamble + "What's the weather in New York today?", preamble + "What's the weather in Los Angeles today?"
    )
    assert "[-New York-]{+Los Angeles+}" in quote and quote.startswith("…") and len(quote) <= 90
    answer = "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether in April and May. #### "
    assert snippet_where_differs(answer + "79", answer + "72").endswith("#### 79")


def test_no_template_from_a_handful_of_rows() -> None:
    texts = ["where is my parcel", "refund please", "where is my parcle"]
    assert prepare(texts, NearParams()).template == ("", "")
    result = near_duplicates(texts, np.eye(3, dtype=np.float32), (np.array([], int), np.array([], int)), NearParams())
    assert result.group == [0, 1, 0]
