"""Coverage benchmark on real data: CLINC150 intents, GSM8K against other tasks, and the 10k × 10k timing.

Each scenario writes a training file and a production file, loads them with the real loader and
runs the coverage check; the truth says which production rows a training set of that kind covers.
Reports the ROC AUC of `nearest_train_similarity` against the truth, the reported coverage
against the true covered share, and what the uncovered clusters contain.

    python -m bench.coverage_bench [--scenario clinc gsm8k timing] [--seeds 0 1]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from auditor.api import load_inputs, load_options
from auditor.config import load_config
from auditor.context import AuditContext
from auditor.embed import Embedder
from auditor.registry import REGISTRY
from auditor.runner import run_check

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parents[1] / ".ftaudit-cache"
# The 10 CLINC150 domains, 15 intents each: data/domains.json of github.com/clinc/oos-eval (CC BY 3.0).
CLINC_DOMAINS = {
    "banking": "freeze_account routing pin_change bill_due pay_bill account_blocked interest_rate min_payment "
               "bill_balance transfer order_checks balance spending_history transactions report_fraud",
    "credit_cards": "replacement_card_duration expiration_date damaged_card improve_credit_score report_lost_card "
                    "card_declined credit_limit_change apr redeem_rewards credit_limit rewards_balance "
                    "application_status credit_score new_card international_fees",
    "kitchen_and_dining": "food_last confirm_reservation how_busy ingredients_list calories nutrition_info recipe "
                          "restaurant_reviews restaurant_reservation meal_suggestion restaurant_suggestion "
                          "cancel_reservation ingredient_substitution cook_time accept_reservations",
    "home": "what_song play_music todo_list_update reminder reminder_update calendar_update order_status "
            "update_playlist shopping_list calendar next_song order todo_list shopping_list_update smart_home",
    "auto_and_commute": "current_location oil_change_when oil_change_how uber traffic tire_pressure "
                        "schedule_maintenance gas mpg distance directions last_maintenance gas_type tire_change jump_start",
    "travel": "plug_type travel_notification translate flight_status international_visa timezone exchange_rate "
              "travel_suggestion travel_alert vaccines lost_luggage book_flight book_hotel carry_on car_rental",
    "utility": "weather alarm date find_phone share_location timer make_call calculator definition "
               "measurement_conversion flip_coin spelling time roll_dice text",
    "work": "pto_request_status next_holiday insurance_change insurance meeting_schedule payday taxes income "
            "rollover_401k pto_balance pto_request w2 schedule_meeting direct_deposit pto_used",
    "small_talk": "who_made_you meaning_of_life who_do_you_work_for do_you_have_pets what_are_your_hobbies fun_fact "
                  "what_is_your_name where_are_you_from goodbye thank_you greeting tell_joke are_you_a_bot "
                  "how_old_are_you what_can_i_ask_you",
    "meta": "change_speed user_name whisper_mode yes change_volume no change_language repeat change_accent cancel "
            "sync_device change_user_name change_ai_name reset_settings maybe",
}
DOMAIN_OF = {intent: domain for domain, intents in CLINC_DOMAINS.items() for intent in intents.split()}


def clinc() -> dict[str, list[list[str]]]:
    return json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))


def gsm8k(split: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in open(SHARED / "gsm8k" / f"{split}.jsonl", encoding="utf-8")]


def instructions() -> list[str]:
    path = SHARED / "self_instruct" / "user_oriented_instructions.jsonl"
    return [json.loads(line)["instruction"] for line in open(path, encoding="utf-8")]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def context(train: Path, production: Path | None, overrides: dict[str, Any] | None = None) -> AuditContext:
    config = load_config(overrides={"embedding": {"cache_dir": str(CACHE)}, **(overrides or {})})
    datasets = load_inputs(train, production, None, load_options(config))
    return AuditContext(datasets, config, Embedder(cache_dir=CACHE, quiet=True))


def roc_auc(scores: list[float], truth: list[bool]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, scores))


def evaluate(name: str, train_rows: list[dict], production: list[tuple[str, bool, str]], folder: Path) -> dict[str, Any]:
    """`production`: (text, truly covered, group) per row; the group names what a cluster should gather."""
    train_path = write_jsonl(folder / f"{name}-train.jsonl", train_rows)
    prod_path = write_jsonl(folder / f"{name}-production.jsonl", [{"text": text} for text, _, _ in production])
    ctx = context(train_path, prod_path)
    ctx.embeddings("train"), ctx.embeddings("production")
    started = time.perf_counter()
    result = run_check(REGISTRY["coverage"], ctx)
    seconds = time.perf_counter() - started
    values = result.row_values["production"]
    lines = sorted(values["covered"])
    truth = [production[line - 1][1] for line in lines]
    similarity = [values["nearest_train_similarity"][line] for line in lines]
    covered = [values["covered"][line] for line in lines]
    metrics = result.metrics
    true_share = sum(truth) / len(truth)
    clusters = metrics["uncovered_clusters"]
    finding_rows = {f.data["id"]: f.rows for f in result.findings if f.code == "COV003" and "id" in f.data}
    purities, coarse, majority = [], [], Counter()
    for cluster in clusters:
        groups = Counter(production[line - 1][2] for line in finding_rows[cluster["id"]])
        group, count = groups.most_common(1)[0]
        purities.append((count / cluster["size"], cluster["size"]))
        wide = Counter(DOMAIN_OF.get(production[line - 1][2], production[line - 1][2]) for line in finding_rows[cluster["id"]])
        coarse.append((wide.most_common(1)[0][1] / cluster["size"], cluster["size"]))
        majority[group] += 1
    uncovered_groups = Counter(group for _, ok, group in production if not ok)
    report = {
        "scenario": name,
        "train_rows": len(train_rows), "production_rows": len(production), "true_share": round(true_share, 4),
        "auc": round(roc_auc(similarity, truth), 4) if 0 < sum(truth) < len(truth) else None,
        "coverage": metrics["coverage"], "ci": [metrics["coverage_ci_low"], metrics["coverage_ci_high"]],
        "error": round(metrics["coverage"] - true_share, 4), "threshold": metrics["threshold"],
        "covered_of_truly_covered": round(sum(c for c, t in zip(covered, truth) if t) / max(1, sum(truth)), 4),
        "covered_of_truly_uncovered": round(sum(c for c, t in zip(covered, truth) if not t) / max(1, len(truth) - sum(truth)), 4),
        "clusters": metrics["uncovered_clusters_total"], "listed": len(clusters),
        "in_clusters": metrics["uncovered_in_clusters"], "uncovered_rows": metrics["uncovered_rows"],
        "weighted_purity": round(sum(p * n for p, n in purities) / max(1, sum(n for _, n in purities)), 3),
        "weighted_domain_purity": round(sum(p * n for p, n in coarse) / max(1, sum(n for _, n in coarse)), 3),
        "chance_cluster_size": metrics["chance_cluster_size"],
        "listed_groups": f"{len(majority)} distinct majority groups among {len(clusters)} listed clusters "
                         f"({len(uncovered_groups)} truly uncovered groups)",
        "domain_auc": metrics["domain_auc"], "training_only_clusters": metrics["training_only_clusters_total"],
        "status": result.status, "check_seconds": round(seconds, 2),
        "top_clusters": [f"{c['size']}×{Counter(production[l - 1][2] for l in finding_rows[c['id']]).most_common(1)[0][0]}: "
                         f"\"{c['examples'][0]['text'][:50]}\" → collect {c['examples_to_collect']}" for c in clusters[:6]],
    }
    return report


def clinc_scenarios(seeds: list[int], folder: Path) -> list[dict[str, Any]]:
    data = clinc()
    production_rows = data["test"] + data["oos_test"]
    reports = []
    for seed in seeds:
        rng = random.Random(seed)
        domains = set(rng.sample(sorted(CLINC_DOMAINS), 5))
        known = {i for i, d in DOMAIN_OF.items() if d in domains}
        train = [{"text": t, "label": i} for t, i in data["train"] if i in known]
        production = [(t, i in known, i) for t, i in production_rows]
        reports.append(evaluate(f"clinc-domains-seed{seed}", train, production, folder))
        reports[-1]["training_domains"] = sorted(domains)
        intents = set(rng.sample(sorted(DOMAIN_OF), 75))
        train = [{"text": t, "label": i} for t, i in data["train"] if i in intents]
        production = [(t, i in intents, i) for t, i in production_rows]
        reports.append(evaluate(f"clinc-random-intents-seed{seed}", train, production, folder))
    return reports


def gsm8k_scenarios(seeds: list[int], folder: Path) -> list[dict[str, Any]]:
    train = [{"question": r["question"], "answer": r["answer"]} for r in gsm8k("train")]
    test = [r["question"] for r in gsm8k("test")]
    queries = [(t, i) for t, i in clinc()["test"] + clinc()["oos_test"]]
    reports = []
    for seed in seeds:
        mixed = random.Random(seed).sample(queries, 500)
        production = ([(q, True, "gsm8k") for q in test] + [(q, False, "self-instruct") for q in instructions()]
                      + [(t, False, f"clinc:{DOMAIN_OF.get(i, 'oos')}") for t, i in mixed])
        random.Random(seed).shuffle(production)
        reports.append(evaluate(f"gsm8k-mixed-seed{seed}", train, production, folder))
    reports.append(evaluate("gsm8k-test-only", train, [(q, True, "gsm8k") for q in test], folder))
    return reports


def timing(folder: Path, repeats: int) -> dict[str, Any]:
    data = clinc()
    rng = random.Random(0)
    pool = data["train"] + data["val"]
    rng.shuffle(pool)
    train = [{"text": t, "label": i} for t, i in pool[:10_000]]
    others = data["test"] + data["oos_train"] + data["oos_val"] + data["oos_test"] + [[r["question"], "math"] for r in gsm8k("test")]
    production = [{"text": t} for t, _ in (others + pool[10_000:])[:10_000]]
    train_path = write_jsonl(folder / "timing-train.jsonl", train)
    prod_path = write_jsonl(folder / "timing-production.jsonl", production)
    cold, warm = [], []
    for _ in range(repeats):
        ctx = context(train_path, prod_path)
        ctx.embeddings("train"), ctx.embeddings("production")
        started = time.perf_counter()
        result = run_check(REGISTRY["coverage"], ctx)
        cold.append(time.perf_counter() - started)
        warm.append(run_check(REGISTRY["coverage"], ctx).seconds)
    return {"scenario": "timing 10,000 train × 10,000 production (embeddings cached)",
            "check_seconds_incl_neighbour_graph": [round(s, 2) for s in cold],
            "check_seconds_graph_shared": [round(s, 2) for s in warm],
            "median_incl_graph": round(statistics.median(cold), 2), "median_graph_shared": round(statistics.median(warm), 2),
            "summary": result.summary}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", nargs="+", default=["clinc", "gsm8k", "timing"], choices=["clinc", "gsm8k", "timing"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import sklearn.linear_model  # noqa: F401  (import time is not the check's work)

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        reports: list[dict[str, Any]] = []
        if "clinc" in args.scenario:
            reports += clinc_scenarios(args.seeds, folder)
        if "gsm8k" in args.scenario:
            reports += gsm8k_scenarios(args.seeds, folder)
        if "timing" in args.scenario:
            reports.append(timing(folder, args.repeats))
    for report in reports:
        print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
