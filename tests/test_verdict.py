from __future__ import annotations

import pytest

from auditor.config import context_value
from auditor.evidence import ConsistencyEvidence, StepHint
from auditor.results import CheckResult
from auditor.verdict import SCORE_BANDS, decide
from tests.conftest import ROOT
from tests.verdict_helpers import coverage_result, format_result, labels_result, size_result, tokens_result


def readme_scenarios() -> list[dict[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- scenarios -->")[1]
    rows = [line for line in table.strip().splitlines() if line.startswith("|")]
    header = [h.strip() for h in rows[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in row.strip("|").split("|")))) for row in rows[2:]]


def results_for(row: dict[str, str]) -> tuple[list[CheckResult], dict]:
    usable = int(row["usable"].replace(",", ""))
    malformed = int(row["malformed"] or 0)
    results = [format_result(usable + malformed, malformed), size_result(usable)]
    if row["inconsistent"] == "one label":
        results.append(
            CheckResult(
                "labels",
                "fail",
                "one label",
                evidence=(ConsistencyEvidence("labels", usable, 0, single_label="refund"),),
            )
        )
    elif row["inconsistent"] != "—":
        results.append(labels_result(usable, float(row["inconsistent"].rstrip("%")) / 100))
    if row["coverage"] != "—":
        results.append(coverage_result(float(row["coverage"].rstrip("%")) / 100))
    truncated = round(usable * float(row["truncated"].rstrip("%")) / 100) if row["truncated"] != "—" else 0
    context = {}
    for pair in filter(None, (p.strip() for p in row["context"].replace("—", "").split(","))):
        key, value = pair.split("=")
        raw = {"true": True, "false": False}.get(value, None)
        context[key] = context_value(
            "test", key, raw if raw is not None else (float(value) if "." in value else int(value))
        )
    if truncated or row["break-even"] != "—":
        months = None if row["break-even"] in ("never", "—") else float(row["break-even"])
        saved = 1_000_000 if row["break-even"] != "—" else None
        results.append(tokens_result(usable, truncated, context.get("monthly_volume"), saved, months))
    return results, context


SCENARIOS = readme_scenarios()


def test_readme_has_the_scenario_table() -> None:
    assert len(SCENARIOS) >= 12
    assert {row["ruling"].strip("*") for row in SCENARIOS} == {"blocked", "keep-prompting", "pilot", "fine-tune"}


@pytest.mark.parametrize("row", SCENARIOS, ids=[r["scenario"] for r in SCENARIOS])
def test_readme_scenarios_rule_as_documented(row: dict[str, str]) -> None:
    results, context = results_for(row)
    verdict = decide(results, context)
    assert verdict.decision == row["ruling"].strip("*"), verdict.reasons
    low, high = SCORE_BANDS[verdict.decision]
    assert verdict.readiness_score <= high, (verdict.readiness_score, verdict.decision)


def test_cost_reasons_never_contradict_each_other() -> None:
    base = [format_result(3000, 0), size_result(3000), labels_result(3000, 0.01), coverage_result(0.97)]
    quick = decide(base + [tokens_result(3000, 0, 20_000, 1_000_000, 0.9)], {"monthly_volume": 20_000})
    text = " ".join(quick.reasons)
    assert "pays back its training in 0.9 months" in text and "will not repay" not in text
    never = decide(base + [tokens_result(3000, 0, 20_000, 1_000_000, None)], {"monthly_volume": 20_000})
    assert never.decision == "pilot" and "repays its training never" in " ".join(never.reasons)
    assert "pays back" not in " ".join(never.reasons)


def test_the_binding_cap_leads_the_next_steps() -> None:
    results = [format_result(3000, 0), size_result(3000), labels_result(3000, 0.02), coverage_result(0.01)]
    results[2] = CheckResult(
        "labels",
        "warn",
        "",
        evidence=(ConsistencyEvidence("labels", 3000, 2, steps=(StepHint("LBL006", "two rows disagree", (5, 9), 2),)),),
    )
    verdict = decide(results)
    assert verdict.decision == "keep-prompting"
    assert verdict.next_steps[0].startswith("collect ~120 examples like production cluster 1")
    assert any(s.startswith("LBL006") for s in verdict.next_steps[1:])
    assert verdict.readiness_score <= SCORE_BANDS["keep-prompting"][1]


def test_truncation_caps_and_names_the_fix() -> None:
    base = [format_result(3000, 0), size_result(3000), labels_result(3000, 0.0), coverage_result(0.97)]
    verdict = decide(base + [tokens_result(3000, 2300, max_seq_len=128)])
    assert verdict.decision == "pilot" and verdict.caps[0]["source"] == "tokens"
    assert "raise the maximum sequence length above 128" in verdict.next_steps[0]


def test_every_context_factor_that_moves_the_ruling_is_a_reason() -> None:
    results = [format_result(3000, 0), size_result(3000), labels_result(3000, 0.0), coverage_result(0.97)]
    assert decide(results).decision == "fine-tune"
    moved = decide(results, {"requirements_change_within_3_months": True, "monthly_volume": 20_000})
    assert moved.decision == "keep-prompting" and moved.data_decision == "fine-tune"
    assert any("requirements change" in r for r in moved.reasons) and any("20,000" in r for r in moved.reasons)
    assert [c["source"] for c in moved.caps] == ["context"]
    assert set(moved.context_applied) == {"requirements_change_within_3_months", "monthly_volume"}


def test_without_context_the_ruling_names_the_questions() -> None:
    verdict = decide([format_result(800, 0), size_result(800)])
    assert any("data readiness only" in r for r in verdict.reasons)
    assert any("monthly_volume" in s and "target_accuracy" in s for s in verdict.next_steps)
    assert any(
        "measure the prompt baseline" in s
        for s in decide([format_result(800, 0), size_result(800)], {"monthly_volume": 500_000}).next_steps
    )


def test_coverage_clusters_become_next_steps_and_missing_production_is_said() -> None:
    capped = decide([format_result(3000, 0), size_result(3000), coverage_result(0.62)])
    assert capped.decision == "pilot"
    assert any("collect ~120 examples like production cluster 1" in s and "lithium" in s for s in capped.next_steps)
    skipped = CheckResult("coverage", "skipped", "no production inputs given")
    verdict = decide([format_result(3000, 0), size_result(3000), skipped])
    assert any("--production" in s for s in verdict.next_steps)


def test_blocking_checks_and_codes_from_policy() -> None:
    results = [format_result(800, 3), size_result(800), CheckResult("labels", "fail", "too noisy", {})]
    assert decide(results, policy={"blocking_checks": ["labels"]}).decision == "blocked"
    blocked = decide(results, policy={"blocking_codes": ["FMT001"]})
    assert blocked.decision == "blocked" and any("FMT001 on train lines 2, 3, 4" in s for s in blocked.next_steps)


def test_score_orders_readiness() -> None:
    weak = decide([format_result(300, 30), size_result(120), labels_result(120, 0.15), coverage_result(0.55)])
    strong = decide([format_result(5000, 0), size_result(5000), labels_result(5000, 0.0), coverage_result(0.98)])
    assert 0 <= weak.readiness_score < 60 < 90 <= strong.readiness_score <= 100


def test_crashed_size_check_blocks_with_reason() -> None:
    verdict = decide([format_result(10, 0), CheckResult("size", "error", "check crashed: KeyError: 'x'")])
    assert verdict.decision == "blocked" and any("KeyError" in r for r in verdict.reasons)
