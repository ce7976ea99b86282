"""Coverage benchmark on real data: CLINC150 intents, GSM8K against other tasks, and the 10k × 10k timing.

Each scenario writes a training file and a production file, loads them with the real loader and
runs the coverage check; the truth says which production rows a training set of that kind covers.
Reports the ROC AUC of `coverage_score` (and, for comparison, of `nearest_train_similarity`)
against the truth, the reported coverage and interval against the true covered share, and what
the uncovered clusters contain (with the nearest training label and whether it looks like a sibling).

CLINC150 scenarios (true covered share 0.5):
  random: 60 seen intents (their train rows) / production: their test rows (1,800), the test rows
          of 30 other intents (900) and 900 out-of-scope queries;
  domain: the 75 intents of 5 of the 10 domains / production: their test rows (2,250), 1,250 test
          rows of the other domains and the 1,000 out-of-scope queries;
  unlabelled: the random split with the labels hidden (k-means stand-in classes), at the chosen k
          and at fixed k for sensitivity.

    python -m bench.coverage_bench [--scenario clinc gsm8k ksens timing] [--seeds 0 1 2] [--model DIR]
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
    "schedule_maintenance gas mpg distance directions last_maintenance gas_type tire_change "
    "jump_start",
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


MODEL = ""


def context(train: Path, production: Path | None, overrides: dict[str, Any] | None = None) -> AuditContext:
    config = load_config(overrides={"embedding": {"cache_dir": str(CACHE), "model": MODEL}, **(overrides or {})})
    datasets = load_inputs(train, production, None, load_options(config))
    return AuditContext(datasets, config, Embedder(MODEL, cache_dir=CACHE, quiet=True))


def roc_auc(scores: list[float], truth: list[bool]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, scores))


def evaluate(
    name: str,
    train_rows: list[dict],
    production: list[tuple[str, bool, str]],
    folder: Path,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`production`: (text, truly covered, group) per row; the group names what a cluster should gather."""
    train_path = write_jsonl(folder / f"{name}-train.jsonl", train_rows)
    prod_path = write_jsonl(folder / f"{name}-production.jsonl", [{"text": text} for text, _, _ in production])
    ctx = context(train_path, prod_path, overrides)
    ctx.embeddings("train"), ctx.embeddings("production")
    started = time.perf_counter()
    result = run_check(REGISTRY["coverage"], ctx)
    seconds = time.perf_counter() - started
    values = result.row_values["production"]
    lines = sorted(values["covered"])
    truth = [production[line - 1][1] for line in lines]
    score = [values["coverage_score"][line] for line in lines]
    similarity = [values["nearest_train_similarity"][line] for line in lines]
    covered = [values["covered"][line] for line in lines]
    metrics = result.metrics
    true_share = sum(truth) / len(truth)
    clusters = metrics["uncovered_clusters"]
    finding_rows = {f.data["id"]: f.rows for f in result.findings if f.code == "COV003" and "id" in f.data}
    purities: list[tuple[float, int]] = []
    majority: Counter[str] = Counter()
    for cluster in clusters:
        groups = Counter(production[line - 1][2] for line in finding_rows[cluster["id"]])
        group, count = groups.most_common(1)[0]
        purities.append((count / cluster["size"], cluster["size"]))
        majority[group] += 1
    low, high = metrics["coverage_ci_low"], metrics["coverage_ci_high"]
    both = 0 < sum(truth) < len(truth)
    basis = metrics["threshold_basis"]
    return {
        "scenario": name,
        "train_rows": len(train_rows),
        "production_rows": len(production),
        "true_share": round(true_share, 4),
        "auc_coverage_score": round(roc_auc(score, truth), 4) if both else None,
        "auc_nearest_similarity": round(roc_auc(similarity, truth), 4) if both else None,
        "coverage": metrics["coverage"],
        "ci": [low, high],
        "error": round(metrics["coverage"] - true_share, 4),
        "truth_in_ci": low <= true_share <= high,
        "classes": f"{basis.get('class_count')} {basis.get('classes')}",
        "k_silhouette": basis.get("k_silhouette"),
        "calibration": {k: v for k, v in (metrics["calibration"] or {}).items() if k != "method"},
        "similarity_at_level": metrics["threshold"],
        "covered_of_truly_covered": round(sum(c for c, t in zip(covered, truth) if t) / max(1, sum(truth)), 4),
        "covered_of_truly_uncovered": round(
            sum(c for c, t in zip(covered, truth) if not t) / max(1, len(truth) - sum(truth)), 4
        ),
        "clusters": metrics["uncovered_clusters_total"],
        "in_clusters": metrics["uncovered_in_clusters"],
        "weighted_purity": round(sum(p * n for p, n in purities) / max(1, sum(n for _, n in purities)), 3),
        "siblings": sum(c["sibling"] for c in clusters),
        "listed": len(clusters),
        "domain_auc": metrics["domain_auc"],
        "status": result.status,
        "check_seconds": round(seconds, 2),
        "top_clusters": [
            f"{c['size']}×{majority_group(production, finding_rows[c['id']])} → nearest "
            f"`{c['nearest_label']}`{' (sibling)' if c['sibling'] else ''}"
            for c in clusters[:6]
        ],
    }


def majority_group(production: list[tuple[str, bool, str]], lines: tuple[int, ...]) -> str:
    return Counter(production[line - 1][2] for line in lines).most_common(1)[0][0]


def clinc_splits(seed: int) -> dict[str, tuple[list[dict], list[tuple[str, bool, str]]]]:
    data = clinc()
    rng = random.Random(seed)
    intents = sorted(DOMAIN_OF)
    shuffled = rng.sample(intents, len(intents))
    seen, unseen = set(shuffled[:60]), set(shuffled[60:90])
    oos = [(t, False, "oos") for t, _ in rng.sample(data["oos_test"], 900)]
    random_split = (
        [{"text": t, "label": i} for t, i in data["train"] if i in seen],
        [(t, True, i) for t, i in data["test"] if i in seen]
        + [(t, False, i) for t, i in data["test"] if i in unseen]
        + oos,
    )
    domains = set(rng.sample(sorted(CLINC_DOMAINS), 5))
    known = {i for i, d in DOMAIN_OF.items() if d in domains}
    others = rng.sample([(t, False, i) for t, i in data["test"] if i not in known], 1250)
    domain_split = (
        [{"text": t, "label": i} for t, i in data["train"] if i in known],
        [(t, True, i) for t, i in data["test"] if i in known]
        + others
        + [(t, False, "oos") for t, _ in data["oos_test"]],
    )
    return {"random": random_split, "domain": domain_split}


def unlabelled(rows: list[dict]) -> list[dict]:
    """The same inputs as a generative set: distinct free-text outputs, so no labels are seen."""
    return [{"prompt": r["text"], "completion": f"Sure, here is what I found about: {r['text']}"} for r in rows]


def clinc_scenarios(seeds: list[int], folder: Path) -> list[dict[str, Any]]:
    reports = []
    for seed in seeds:
        for kind, (train, production) in clinc_splits(seed).items():
            reports.append(evaluate(f"clinc-{kind}-seed{seed}", train, production, folder))
    return reports


def k_sensitivity(seeds: list[int], folder: Path, ks: list[int]) -> list[dict[str, Any]]:
    reports = []
    for seed in seeds:
        train, production = clinc_splits(seed)["random"]
        for k in [0] + ks:
            reports.append(
                evaluate(
                    f"clinc-random-unlabelled-seed{seed}-k{k or 'auto'}",
                    unlabelled(train),
                    production,
                    folder,
                    {"coverage": {"stand_in_clusters": k}},
                )
            )
    return reports


def gsm8k_scenarios(seeds: list[int], folder: Path, ks: list[int]) -> list[dict[str, Any]]:
    train = [{"question": r["question"], "answer": r["answer"]} for r in gsm8k("train")]
    test = [r["question"] for r in gsm8k("test")]
    queries = [(t, i) for t, i in clinc()["test"] + clinc()["oos_test"]]
    reports = []
    for seed in seeds:
        mixed = random.Random(seed).sample(queries, 500)
        production = (
            [(q, True, "gsm8k") for q in test]
            + [(q, False, "self-instruct") for q in instructions()]
            + [(t, False, f"clinc:{DOMAIN_OF.get(i, 'oos')}") for t, i in mixed]
        )
        random.Random(seed).shuffle(production)
        for k in [0] + (ks if seed == seeds[0] else []):
            reports.append(
                evaluate(
                    f"gsm8k-mixed-seed{seed}-k{k or 'auto'}",
                    train,
                    production,
                    folder,
                    {"coverage": {"stand_in_clusters": k}},
                )
            )
    reports.append(evaluate("gsm8k-test-only", train, [(q, True, "gsm8k") for q in test], folder))
    clinc_only = [(t, False, f"clinc:{DOMAIN_OF.get(i, 'oos')}") for t, i in random.Random(0).sample(queries, 1000)]
    reports.append(evaluate("gsm8k-vs-clinc-only", train, clinc_only, folder))
    return reports


def timing(folder: Path, repeats: int) -> dict[str, Any]:
    data = clinc()
    rng = random.Random(0)
    pool = data["train"] + data["val"]
    rng.shuffle(pool)
    train = [{"text": t, "label": i} for t, i in pool[:10_000]]
    others = (
        data["test"]
        + data["oos_train"]
        + data["oos_val"]
        + data["oos_test"]
        + [[r["question"], "math"] for r in gsm8k("test")]
    )
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
    return {
        "scenario": "timing 10,000 train × 10,000 production (embeddings cached)",
        "check_seconds_incl_neighbour_graph": [round(s, 2) for s in cold],
        "check_seconds_graph_shared": [round(s, 2) for s in warm],
        "median_incl_graph": round(statistics.median(cold), 2),
        "median_graph_shared": round(statistics.median(warm), 2),
        "summary": result.summary,
    }


def main() -> None:
    global MODEL
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scenario",
        nargs="+",
        default=["clinc", "gsm8k", "ksens", "timing"],
        choices=["clinc", "gsm8k", "ksens", "timing"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ks", nargs="+", type=int, default=[4, 16, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="", help="a sentence-transformers model directory (default: bundled MiniLM)")
    args = parser.parse_args()
    MODEL = args.model
    import sklearn.linear_model  # noqa: F401  (import time is not the check's work)

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if "clinc" in args.scenario:
            emit(clinc_scenarios(args.seeds, folder))
        if "gsm8k" in args.scenario:
            emit(gsm8k_scenarios(args.seeds[:2], folder, args.ks))
        if "ksens" in args.scenario:
            emit(k_sensitivity(args.seeds[:1], folder, args.ks))
        if "timing" in args.scenario:
            emit([timing(folder, args.repeats)])


def emit(reports: list[dict[str, Any]]) -> None:
    for report in reports:
        print(json.dumps(report, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
