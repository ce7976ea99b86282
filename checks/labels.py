"""Labels: conflicting, misspelled, imbalanced and likely wrong labels of a classification set.

Generative sets (chat, prompt/completion, instruction) are checked by `outputs` (contradicting and
inconsistently formatted outputs, system prompts).

What it checks
  Classification sets (one label per row):
  - Conflicts: rows whose inputs are the same after normalisation (NFKC, case folding, spaces),
    near-identical (one near-duplicate group of the duplicates check) or close in meaning (input
    embeddings with cosine ≥ conflict_similarity) but whose labels differ. One finding per group
    of rows joined by such pairs, naming every line and its label.
  - Vocabulary: spellings of one label that differ only in case, spaces, hyphens, underscores or
    punctuation ("Positive", "positive ", "POSITIVE"), or by a typo (at most
    max(1, spelling_edit_ratio × length) character edits, a changed digit counting 2, labels of
    spelling_min_chars or more). One finding, with the count and lines of every spelling. The
    other parts of the check read every label as its most common spelling.
  - Balance: the rarest label's share under imbalance_ratio × 1/K for K labels (cleanlab's
    class-imbalance rule), and labels with fewer than min_examples_per_label rows.
  - Likely mislabels (confident learning, implemented here on numpy and scikit-learn): every row
    gets out-of-fold probabilities for every label from its input embedding — a vote of its
    `neighbours` most similar other duplicate groups weighted exp((cosine − 1) / neighbour_temperature),
    blended (neighbour_weight) with a shrinkage linear discriminant fitted in `folds` folds that
    never split a duplicate group, its scores calibrated by one softmax temperature. A class's
    threshold is the mean probability its rows give their own label (at least 1/K); a row's
    confident label is its most probable label above that label's threshold; the off-diagonal
    count of the (given, confident) joint estimates how many labels are wrong. That many rows with
    the lowest probability of their given label are suspected, if the model's most probable label
    is another one whose probability reaches confident_fraction of that label's threshold
    (cleanlab's `low_self_confidence` rule with its default `off_diagonal` count). Every row is
    annotated with label_issue_score = 1 − p(given label), suspected rows with suspected_label.
  - Learnability: the cross-validated accuracy of that classifier and a learning curve over
    learning_curve_fractions of the duplicate groups; accuracy is still improving when the last
    step gains at least rising_accuracy_gain.

Why it matters
  Fine-tuning bakes inconsistent supervision into the weights: two labels for one input teach
  the model to guess, a misspelled label becomes a class of its own, a mislabelled row teaches
  the wrong answer with full confidence, and outputs in two formats teach two behaviours. A
  learning curve that still rises says more data would still help; a flat one says it would not.

Failing example
  tickets.csv: "Parcel arrived damaged and I want my money back" is 'damaged' on line 42 and
  'refund' on line 123; 'Refund' (line 30), 'refund ' (66) and 'REFUND' (103) are spellings of
  'refund', 'Tracking' (145) of 'tracking'.
  support_train.jsonl: lines 48 and 164 ask "How long do I have to request a refund for a late
  Next Day delivery?"; one reply says 30 days, the other 14 days.

How to fix
  Decide one label per conflicting input and relabel the rest; merge spelling variants into one
  spelling; review the suspected rows from the highest label_issue_score down (`--annotate`
  writes them) and relabel the wrong ones; collect examples for rare labels or merge them; give
  one answer per question; make every output follow the dominant format; use one system prompt.

Calibration (bench/labels_bench.py, all-MiniLM-L6-v2, 2 CPU cores)
  Banking77 train (10,003 rows, 77 labels), labels of 5% / 10% of the rows flipped to a random
  other label, 5 seeds: precision 0.962 / 0.980, recall 0.875 / 0.850, F1 0.916 / 0.910 (lowest
  seed 0.900 / 0.901); the suggested label is the original one for 94% of the flips caught.
  cleanlab's filter_by="both" rule on the same probabilities scores F1 0.764 / 0.804, and cleanlab
  with 5-fold logistic regression reached 0.80 at 5% after ~100 s of cross-validation; this check
  takes 1.3 s on the 10k rows once the embeddings exist (plus 1.7 s for the neighbour graph and
  near-duplicate groups it shares with the duplicates check). Cross-validated accuracy 0.915
  (0.889 / 0.899 / 0.915 at 25 / 50 / 100% of the rows: still rising). On the untouched file it
  suspects 75 rows (0.75%); of the 15 scored highest, 9 are plain errors ("How do I top up?"
  labelled transfer_into_account) and 5 sit between two intents. It also reports 44 conflict
  groups (141 rows), mostly Banking77's overlapping intents ("Seems like my top-up has been
  cancelled" top_up_reverted / "Looks like my top-up has been cancelled" top_up_failed); a
  one-word difference ("my card" / "my virtual card") can join rows whose labels rightly differ.
  Injected label spellings (case, trailing space, hyphen, typo) and conflicting copies (exact and
  near variants), 3 seeds: 90/90 and 90/90 found on Banking77, 24/24 and 24/24 on
  dbpedia_samples. GSM8K: 10/10 copies of questions with another "#### n" found; the untouched
  file has no contradiction (its one near-duplicate pair, lines 2484/6692, has the same answer)
  and no format break.

Config ([labels] in ftaudit.toml)
  max_inconsistent_share = 0.1  share of rows in conflicts or suspected above which the check fails
  conflict_similarity = 0.95    input cosine at or above which different labels conflict
  spelling_edit_ratio = 0.1     character edits allowed per character between spellings (at least 1)
  spelling_min_chars = 5        shorter labels are compared only after folding, never for typos
  imbalance_ratio = 0.1         the rarest label's share must reach this fraction of 1/K
  min_examples_per_label = 5    labels with fewer rows are reported (the model cannot judge them)
  min_rows_for_model = 50       fewer valid rows: no mislabel model or learning curve
  neighbours = 50               nearest duplicate groups that vote on a row's label
  neighbour_temperature = 0.05  vote weight exp((cosine − 1) / neighbour_temperature)
  neighbour_weight = 0.7        share of the neighbour vote in the blend (the rest: discriminant)
  shrinkage = 0.05              covariance shrinkage of the linear discriminant
  folds = 10                    cross-validation folds of the linear discriminant
  confident_fraction = 0.5      the suspected label's probability must reach this share of its class threshold
  learning_curve_fractions = [0.25, 0.5, 1.0]   shares of the data for the learning curve
  learning_curve_max_rows = 10000  larger sets draw the curve on a seeded sample of this many duplicate
                                groups; a sampled curve is reported, never LBL010
  rising_accuracy_gain = 0.01   accuracy gain over the last step that counts as still improving
  max_findings = 200            findings listed per code (the rest are summarised in one)
  seed = 0                      folds and learning-curve samples

Codes
  LBL001 conflicting labels for the same or a near-identical input · LBL002 label spelling variants
  LBL003 imbalanced labels · LBL004 labels with too few examples · LBL005 likely mislabelled row
  LBL009 too many inconsistent rows · LBL010 accuracy still rising with more data
  LBL012 every row carries the same label (LBL006–LBL008 and LBL011 belong to the `outputs` check)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.evidence import ConsistencyEvidence, Inconsistency, StepHint
from auditor.results import CheckResult, Finding
from auditor.text import groups_of, snippet

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "labels"
FAMILY = "LBL"
CODES = {
    "LBL001": "conflicting labels for the same or a near-identical input",
    "LBL002": "label spelling variants",
    "LBL003": "imbalanced labels",
    "LBL004": "labels with too few examples",
    "LBL005": "likely mislabelled row",
    "LBL009": "too many inconsistent rows",
    "LBL010": "accuracy still rising with more data",
    "LBL012": "every row carries the same label",
}
DEFAULTS: dict[str, Any] = {
    "max_inconsistent_share": 0.1,
    "conflict_similarity": 0.95,
    "spelling_edit_ratio": 0.1,
    "spelling_min_chars": 5,
    "imbalance_ratio": 0.1,
    "min_examples_per_label": 5,
    "min_rows_for_model": 50,
    "neighbours": 50,
    "neighbour_temperature": 0.05,
    "neighbour_weight": 0.7,
    "shrinkage": 0.05,
    "folds": 10,
    "confident_fraction": 0.5,
    "learning_curve_fractions": [0.25, 0.5, 1.0],
    "learning_curve_max_rows": 10_000,
    "rising_accuracy_gain": 0.01,
    "max_findings": 200,
    "seed": 0,
}


def listed(lines: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(line) for line in lines[:limit])
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def capped(findings: list[Finding], code: str, what: str, limit: int) -> list[Finding]:
    """The first `limit` findings, and one summary finding naming the rows of the rest."""
    if len(findings) <= limit:
        return findings
    rest = findings[limit:]
    rows = tuple(sorted({r for f in rest for r in f.rows}))
    return findings[:limit] + [
        Finding(code, "info", f"{len(rest)} more {what} not listed ({len(rows)} rows)", rows, {"not_listed": len(rest)})
    ]


def conflict_groups(ctx: AuditContext, labels: Sequence[str], similarity: float) -> list[tuple[list[int], str]]:
    """(rows, kind) for every group of rows joined by same-input, near-duplicate or similar-input pairs with
    different labels."""
    from auditor.dedup import UnionFind

    reps = ctx.representatives("train")
    _, near_of_row = ctx.near_groups("train")
    union = UnionFind(len(labels))
    for rows in groups_of(near_of_row).values():
        if len({labels[r] for r in rows}) > 1:
            for row in rows[1:]:
                union.union(rows[0], row)
    copies: dict[int, list[int]] = {}
    for row, rep in enumerate(reps.of_row):
        copies.setdefault(rep, []).append(row)
    graph = ctx.neighbour_graph("train")
    close = graph.pair_similarity >= similarity
    for i, j in zip(graph.pair_i[close].tolist(), graph.pair_j[close].tolist()):
        rows = copies[reps.rows[i]] + copies[reps.rows[j]]
        if len({labels[r] for r in rows}) > 1:
            for row in rows[1:]:
                union.union(rows[0], row)
    components: dict[int, list[int]] = {}
    for row in range(len(labels)):
        components.setdefault(union.find(row), []).append(row)
    found = []
    for rows in components.values():
        if len(rows) > 1 and len({labels[r] for r in rows}) > 1:
            kind = (
                "exact"
                if len({reps.of_row[r] for r in rows}) == 1
                else "near"
                if len({near_of_row[r] for r in rows}) == 1
                else "similar"
            )
            found.append((rows, kind))
    return sorted(found, key=lambda item: (-len(item[0]), item[0][0]))


def conflict_findings(
    ctx: AuditContext, labels: Sequence[str], config: Mapping[str, Any]
) -> tuple[list[Finding], int, set[int]]:
    valid = ctx.train.valid
    lines, texts = valid["line"].to_list(), valid["input"].to_list()
    name = ctx.train.path.name
    findings, rows_in = [], set()
    what = {
        "exact": "the same input",
        "near": "nearly the same input",
        "similar": f"inputs of cosine ≥ {config['conflict_similarity']}",
    }
    groups = conflict_groups(ctx, labels, config["conflict_similarity"])
    for rows, kind in groups:
        rows_in.update(rows)
        by_line = {lines[r]: labels[r] for r in rows}
        shown = "; ".join(f"line {lines[r]} '{labels[r]}'" for r in rows[:6]) + ("; …" if len(rows) > 6 else "")
        message = (
            f'{name}: {len(rows)} rows with {what[kind]} ("{snippet(texts[rows[0]])}") carry '
            f"{len(set(by_line.values()))} labels: {shown}"
        )
        findings.append(Finding("LBL001", "warning", message, tuple(by_line), {"kind": kind, "labels": by_line}))
    return capped(findings, "LBL001", "conflict groups", config["max_findings"]), len(groups), rows_in


def vocabulary_finding(
    raw: Sequence[str], lines: Sequence[int], groups: list[list[str]], name: str
) -> tuple[list[Finding], int]:
    if not groups:
        return [], 0
    by_spelling: dict[str, list[int]] = {}
    for line, label in zip(lines, raw):
        by_spelling.setdefault(label, []).append(line)
    variants = sum(len(g) - 1 for g in groups)
    data = {
        "groups": [
            {
                "label": g[0],
                "spellings": {
                    s: {"count": len(by_spelling[s]), "lines": by_spelling[s] if s != g[0] else by_spelling[s][:10]}
                    for s in g
                },
            }
            for g in groups
        ]
    }
    shown = "; ".join(" / ".join(f"'{s}' ({len(by_spelling[s])})" for s in g) for g in groups[:5])
    message = f"{name}: {variants} label spelling(s) are variants of another label: {shown}"
    rows = tuple(line for g in groups for s in g[1:] for line in by_spelling[s])
    return [Finding("LBL002", "warning", message, rows, data)], variants


def balance_findings(
    labels: Sequence[str], lines: Sequence[int], config: Mapping[str, Any], name: str
) -> tuple[list[Finding], dict[str, Any]]:
    counts = Counter(labels)
    k, total = len(counts), len(labels)
    floor = config["imbalance_ratio"] / k
    rare = {label: n for label, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])) if n / total < floor}
    thin = {
        label: n
        for label, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if n < config["min_examples_per_label"]
    }
    findings = []
    if rare and k > 1:
        shown = ", ".join(f"'{label}' {n / total:.2%}" for label, n in list(rare.items())[:10])
        message = (
            f"{name}: {len(rare)} of {k} labels hold under {floor:.2%} of rows "
            f"({config['imbalance_ratio']} × 1/{k}): {shown}"
        )
        findings.append(Finding("LBL003", "warning", message, (), {"labels": rare, "share_floor": round(floor, 6)}))
    if thin:
        rows = tuple(line for line, label in zip(lines, labels) if label in thin)
        shown = ", ".join(f"'{label}' ({n})" for label, n in list(thin.items())[:10])
        message = f"{name}: {len(thin)} label(s) with fewer than {config['min_examples_per_label']} rows: {shown}"
        findings.append(Finding("LBL004", "warning", message, rows, {"labels": thin}))
    metrics = {
        "labels": k,
        "rarest_label_share": round(min(counts.values()) / total, 4),
        "largest_label_share": round(max(counts.values()) / total, 4),
    }
    return findings, metrics


def mislabels(
    ctx: AuditContext, labels: Sequence[str], config: Mapping[str, Any]
) -> tuple[list[Finding], dict[str, Any], dict[str, dict[int, Any]], set[int]]:
    import numpy as np

    from auditor.confident import ModelParams, find_label_issues, learning_curve, out_of_fold_probabilities

    valid = ctx.train.valid
    lines, texts = valid["line"].to_list(), valid["input"].to_list()
    classes = sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    y = np.array([index[label] for label in labels])
    groups = np.array(ctx.near_groups("train")[1])
    params = ModelParams(
        config["neighbours"],
        config["neighbour_temperature"],
        config["neighbour_weight"],
        config["shrinkage"],
        config["folds"],
        config["seed"],
    )
    vectors = ctx.embeddings("train")
    graph = ctx.neighbour_graph("train")
    probabilities = out_of_fold_probabilities(
        vectors, y, groups, len(classes), params, graph.ann, ctx.representatives("train").rows
    )
    issues = find_label_issues(probabilities, y, config["confident_fraction"])
    curve_cap = config["learning_curve_max_rows"]
    sampled = 0 < curve_cap < len(set(groups.tolist()))
    curve = learning_curve(
        vectors,
        y,
        groups,
        len(classes),
        params,
        config["learning_curve_fractions"],
        full=probabilities,
        max_groups=curve_cap,
    )
    steps = list(curve.values())
    suspected = np.flatnonzero(issues.suspected)
    suspected = suspected[np.argsort(-issues.score[suspected], kind="stable")]
    findings = []
    name = ctx.train.path.name
    for row in suspected.tolist():
        given, guess = labels[row], classes[issues.predicted[row]]
        p_given, p_guess = float(probabilities[row, y[row]]), float(probabilities[row, issues.predicted[row]])
        message = (
            f"{name}:{lines[row]} \"{snippet(texts[row])}\" is labelled '{given}'; the model expects "
            f"'{guess}' (p = {p_guess:.2f}; p('{given}') = {p_given:.2f})"
        )
        findings.append(
            Finding(
                "LBL005",
                "warning",
                message,
                (lines[row],),
                {"given": given, "suspected": guess, "label_issue_score": round(float(issues.score[row]), 4)},
            )
        )
    findings = capped(findings, "LBL005", "suspected rows", config["max_findings"])
    rising = len(steps) > 1 and steps[-1] - steps[-2] >= config["rising_accuracy_gain"]
    if rising and not sampled:
        trend = " → ".join(f"{acc:.3f}" for acc in steps)
        findings.append(
            Finding(
                "LBL010",
                "info",
                f"{name}: cross-validated accuracy is still rising with more data "
                f"({trend} at {', '.join(f'{float(f):.0%}' for f in curve)} of the rows): more examples would help",
                (),
                {"learning_curve": curve},
            )
        )
    metrics = {
        "suspected_mislabels": len(suspected),
        "estimated_label_issues": issues.estimated_issues,
        "cv_accuracy": round(float((issues.predicted == y).mean()), 4),
        "learning_curve": curve,
        "still_improving": None if sampled else bool(rising),
        "learning_curve_groups": curve_cap if sampled else len(set(groups.tolist())),
    }
    row_values = {
        "suspected_label": {lines[r]: classes[issues.predicted[r]] for r in suspected.tolist()},
        "label_issue_score": {line: round(float(s), 4) for line, s in zip(lines, issues.score)},
    }
    return findings, metrics, row_values, {int(r) for r in suspected}


def classification(
    ctx: AuditContext, config: Mapping[str, Any]
) -> tuple[list[Finding], dict[str, Any], dict[str, Any], set[int]]:
    from auditor.vocabulary import canonical_labels, spelling_groups

    valid = ctx.train.valid
    lines, raw = valid["line"].to_list(), valid["output"].to_list()
    name = ctx.train.path.name
    spellings = spelling_groups(raw, config["spelling_edit_ratio"], config["spelling_min_chars"])
    labels = canonical_labels(raw, spellings)
    findings, variants = vocabulary_finding(raw, lines, spellings, name)
    conflicts, groups, conflicting = conflict_findings(ctx, labels, config)
    findings += conflicts
    balance, metrics = balance_findings(labels, lines, config, name)
    findings += balance
    metrics.update(
        conflict_groups=groups,
        conflicting_rows=len(conflicting),
        vocabulary_variants=variants,
        suspected_mislabels=0,
        estimated_label_issues=None,
        cv_accuracy=None,
        learning_curve=None,
        still_improving=None,
    )
    row_values: dict[str, Any] = {}
    suspected: set[int] = set()
    if len(lines) >= config["min_rows_for_model"] and metrics["labels"] > 1:
        found, model_metrics, row_values, suspected = mislabels(ctx, labels, config)
        findings += found
        metrics.update(model_metrics)
    metrics["mislabel_rate"] = round(metrics["suspected_mislabels"] / len(lines), 4)
    return findings, metrics, row_values, conflicting | suspected


def single_label_finding(ctx: AuditContext) -> Finding | None:
    labels = ctx.train.valid["label"].drop_nulls().unique().to_list()
    if len(labels) != 1:
        return None
    message = (
        f"{ctx.train.path.name}: all {ctx.train.rows_valid} rows carry the label {labels[0]!r}; a classifier "
        "trained on one label learns nothing (a constant answers as well)"
    )
    return Finding("LBL012", "error", message, (), {"label": labels[0]})


def system_prompts(ctx: AuditContext) -> int:
    from auditor.text import normalize

    return len({normalize(s) for s in ctx.train.valid["system"].drop_nulls().to_list() if s.strip()})


def step_hints(findings: list[Finding]) -> tuple[StepHint, ...]:
    return tuple(
        StepHint(f.code, f.message, f.rows, len(f.rows))
        for f in findings
        if f.code in ("LBL001", "LBL002", "LBL005") and f.severity == "warning" and f.rows
    )


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to check labels")
    if train.task != "classification":
        return CheckResult(ID, "skipped", f"a {train.task} set has no labels (its outputs are checked by 'outputs')")
    single = single_label_finding(ctx)
    if single is not None:
        evidence = ConsistencyEvidence("labels", train.rows_valid, 0, single_label=str(single.data["label"]))
        return CheckResult(
            ID,
            "fail",
            single.message.split(": ", 1)[1],
            {"task": train.task, "labels": 1},
            (single,),
            evidence=(evidence,),
        )
    findings, metrics, row_values, inconsistent = classification(ctx, config)
    metrics.update(format_breaks=0, contradictions=0)
    share = len(inconsistent) / train.rows_valid
    metrics = {
        "task": train.task,
        "rows_valid": train.rows_valid,
        **metrics,
        "system_prompts": system_prompts(ctx),
        "inconsistent_rows": len(inconsistent),
        "inconsistent_share": round(share, 4),
    }
    status = "warn" if any(f.severity in ("warning", "error") for f in findings) else "pass"
    if share > config["max_inconsistent_share"]:
        status = "fail"
        findings.append(
            Finding(
                "LBL009",
                "error",
                f"{train.path.name}: {share:.1%} of rows are inconsistent "
                f"(more than {config['max_inconsistent_share']:.0%})",
                (),
                {"inconsistent_share": round(share, 4)},
            )
        )
    accuracy = f", cross-validated accuracy {metrics['cv_accuracy']:.3f}" if metrics["cv_accuracy"] is not None else ""
    summary = (
        f"{metrics['conflict_groups']} conflict group(s) ({metrics['conflicting_rows']} rows), "
        f"{metrics['vocabulary_variants']} label spelling variant(s), {metrics['suspected_mislabels']} suspected "
        f"mislabel(s) ({metrics['mislabel_rate']:.1%}){accuracy}"
    )
    parts = (
        Inconsistency("rows with conflicting labels", metrics["conflicting_rows"]),
        Inconsistency("likely mislabels", metrics["suspected_mislabels"]),
        Inconsistency("label spelling variants", metrics["vocabulary_variants"]),
    )
    curve = (
        tuple(float(a) for a in (metrics.get("learning_curve") or {}).values())
        if isinstance(metrics.get("learning_curve"), dict)
        else tuple(metrics.get("learning_curve") or ())
    )
    evidence = ConsistencyEvidence(
        "labels",
        train.rows_valid,
        len(inconsistent),
        tuple(p for p in parts if p.rows),
        still_improving=bool(metrics.get("still_improving")),
        learning_curve=curve,
        steps=step_hints(findings),
    )
    return CheckResult(
        ID, status, summary, metrics, tuple(findings), {"train": row_values} if row_values else {}, evidence=(evidence,)
    )
