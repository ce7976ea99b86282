"""A long text shared by every row (a tool description in the prompt, an Alpaca instruction) must not
change what the duplicates, outputs and labels checks find, nor the ruling: the same real rows are
audited plain, with the text before each question, after it, as the Alpaca instruction, and with one of
two different texts per row."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest

from auditor.api import audit
from bench.duplicates_bench import PREAMBLE
from bench.inject import NEAR
from tests.conftest import shared_file

SECOND = (
    "You help the customers of a regional bank and may use these functions. get_balance(account_id) returns the "
    "current and available balance of an account in its currency. list_transactions(account_id, days) returns the "
    "booked transactions of the last days, newest first, with amount, date, counterparty and reference. "
    "freeze_card(card_id, reason) blocks a card at once; ask for confirmation before you call it. "
    "exchange_rate(from_currency, to_currency) returns today's rate with the bank's margin included. Never reveal "
    "a full account or card number: show the last four digits only. If a customer seems to be the victim of fraud, "
    "freeze the card first and then explain the next steps. Be brief and friendly, avoid jargon, and finish by "
    "asking whether anything else is needed. The customer's message follows."
)
STYLES = ("prefix", "suffix", "alpaca", "two_preambles")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def styled(text: str, output: str, style: str, output_key: str, source: int) -> dict[str, str]:
    """The row in a style: plain, the preamble before or after the text, the preamble as the Alpaca instruction,
    or one of two different preambles (by the parity of the row copied, as in a set merged from two applications)."""
    if style == "alpaca":
        return {"instruction": PREAMBLE, "input": text, "output": output}
    prompt = {
        "plain": text,
        "prefix": PREAMBLE + "\n\n" + text,
        "suffix": text + "\n\n" + PREAMBLE,
        "two_preambles": (PREAMBLE if source % 2 else SECOND) + "\n\n" + text,
    }[style]
    return {"question" if output_key == "answer" else "text": prompt, output_key: output}


def gsm8k_rows() -> list[tuple[str, str, int]]:
    """1,400 GSM8K rows: 1,370 real, 15 near copies (a typo or a dropped word) with the same answer and
    15 exact copies whose final answer was changed (contradictions)."""
    with open(shared_file("gsm8k", "train.jsonl"), encoding="utf-8") as handle:
        real = [(r["question"], r["answer"], i) for i, r in enumerate(map(json.loads, handle)) if i < 1370]
    rng = random.Random(5)
    rows = list(real)
    for source in rng.sample(range(len(real)), 15):
        question, answer, _ = real[source]
        rows.append((NEAR[rng.choice(["typo", "dropped_word"])](question, rng), answer, source))
    for source in rng.sample(range(len(real)), 15):
        question, answer, _ = real[source]
        head, _, final = answer.rpartition("#### ")
        rows.append((question, f"{head}#### {int(final.replace(',', '')) + 7}", source))
    return rows


def banking_rows() -> list[tuple[str, str, int]]:
    with open(shared_file("banking77", "train.csv"), encoding="utf-8") as handle:
        real = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
    return [(text, label, i) for i, (text, label) in enumerate(random.Random(11).sample(real, 1400))]


def ruling(report: Any) -> tuple[str, Any]:
    return report.verdict.decision, report.verdict.readiness_score


REPORTS: dict[tuple[str, str], Any] = {}


def report_for(dataset: str, style: str, folder: Path) -> Any:
    """One audit per (dataset, style), shared by the tests of this module."""
    if (dataset, style) not in REPORTS:
        rows, key = (gsm8k_rows(), "answer") if dataset == "gsm8k" else (banking_rows(), "label")
        path = write_jsonl(
            folder / f"{dataset}_{style}.jsonl", [styled(t, o, style, key, source) for t, o, source in rows]
        )
        REPORTS[dataset, style] = audit(path)
    return REPORTS[dataset, style]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preamble")


def duplicate_counts(report: Any) -> tuple[int, ...]:
    metrics = report.check("duplicates").metrics
    return (
        metrics["exact_duplicate_rows"],
        metrics["near_groups"],
        metrics["near_duplicate_rows"],
        metrics["effective_rows"],
    )


@pytest.mark.calibration
@pytest.mark.parametrize("style", STYLES)
def test_gsm8k_preamble_changes_no_duplicate_contradiction_or_ruling(folder: Path, style: str) -> None:
    plain, other = report_for("gsm8k", "plain", folder), report_for("gsm8k", style, folder)
    assert duplicate_counts(plain)[1] >= 10, "the injected near copies are found in the plain rows"
    assert duplicate_counts(other) == duplicate_counts(plain)
    contradictions = [(f.rows, f.data["reason"]) for f in plain.check("outputs").findings if f.code == "LBL006"]
    assert len(contradictions) == 15 and all(reason == "different final answers" for _, reason in contradictions)
    assert [(f.rows, f.data["reason"]) for f in other.check("outputs").findings if f.code == "LBL006"] == contradictions
    assert ruling(other) == ruling(plain)


@pytest.mark.calibration
@pytest.mark.parametrize("style", STYLES)
def test_banking77_preamble_changes_no_conflict_mislabel_or_ruling(folder: Path, style: str) -> None:
    plain, other = report_for("banking77", "plain", folder), report_for("banking77", style, folder)
    assert other.inputs["train"].task == "classification"

    def label_view(report: Any) -> tuple[Any, ...]:
        labels = report.check("labels")
        conflicts = sorted(f.rows for f in labels.findings if f.code == "LBL001")
        suspected = sorted(f.rows for f in labels.findings if f.code == "LBL005")
        return labels.metrics["conflict_groups"], labels.metrics["suspected_mislabels"], conflicts, suspected

    assert label_view(plain)[1] > 0
    assert label_view(other) == label_view(plain)
    assert duplicate_counts(other) == duplicate_counts(plain)
    assert ruling(other) == ruling(plain)
