"""The model card: what was learnt, from what, how good it is, in words a marketer can use."""

from __future__ import annotations

from typing import Any

from leadscore import __version__ as leadscore_version

MODEL_NAMES = {
    "logistic": "logistic regression (a weighted checklist of lead attributes)",
    "gbm": "gradient boosting (many small decision trees added together)",
    "blend": "a blend of logistic regression and gradient boosting",
}


SCHEMES = {
    "stratified k-fold": "shuffled, each fold with the same conversion rate",
    "time-ordered expanding window": "time-ordered: each fold learns from earlier leads only "
    "and is tested on the period after them",
}


def build(report: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable card (model_card.json)."""
    return {"leadscore_version": leadscore_version, **report}


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _auc_words(auc: float | None) -> str:
    if auc is None:
        return "not measurable"
    if auc >= 0.9:
        return "excellent"
    if auc >= 0.8:
        return "good"
    if auc >= 0.7:
        return "fair"
    if auc >= 0.6:
        return "weak"
    return "barely better than chance"


def _metrics_section(m: dict[str, Any], base: float) -> list[str]:
    auc = m["roc_auc"]
    lines = [
        "## How good is it?",
        "",
        "Measured on leads the model did not see while learning (cross-validation).",
        "",
        "| measure | value | what it means |",
        "|---|---|---|",
        f"| ROC AUC | {_num(auc)} | Pick a lead that converted and one that did not: this is "
        f"how often the converted one gets the higher score ({_auc_words(auc)}; 0.5 = "
        "coin toss, 1 = perfect). |",
        f"| PR AUC | {_num(m['pr_auc'])} | How well the top of the list is filled with "
        f"converters (random ordering would give about {_num(base)}). |",
        f"| Brier score | {_num(m['brier'], 4)} | Average squared gap between predicted "
        "probability and what happened (lower is better). |",
        f"| Calibration error | {_pct(m['calibration_error'])} | Average gap between predicted "
        "and observed conversion rates. |",
        "",
    ]
    return lines


def _time_section(card: dict[str, Any]) -> list[str]:
    """Out-of-time figures beside shuffled ones, when the rows' time order is known."""
    latest, shuffled = card["metrics_latest_fold"], card.get("metrics_shuffled")
    lines = [
        "## Out of time or shuffled?",
        "",
        "The figures above are out of time: each period was scored by a model that learnt "
        "from earlier leads only, as new leads will be. Shuffled cross-validation mixes the "
        "periods and so tends to promise more when the world changes.",
        "",
        "| validation | leads scored | ROC AUC | PR AUC | Brier score |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [("out of time, every period", card["metrics"])]
    rows.append(("out of time, the most recent period alone", latest))
    if shuffled:
        rows.append((f"shuffled, {shuffled['folds']} folds", shuffled))
    for label, m in rows:
        lines.append(
            f"| {label} | {m['rows']:,} | {_num(m['roc_auc'])} | {_num(m['pr_auc'])} | "
            f"{_num(m['brier'], 4)} |"
        )
    lines.append("")
    if shuffled and shuffled["roc_auc"] is not None and card["metrics"]["roc_auc"] is not None:
        gap = shuffled["roc_auc"] - card["metrics"]["roc_auc"]
        if gap > 0.02:
            lines += [
                f"Shuffled validation is {gap:.3f} ROC AUC above out of time: the leads "
                "change over time, so expect the out-of-time figure on new leads, and "
                "retrain regularly.",
                "",
            ]
    return lines


def _calibration_section(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Can I trust the probabilities?",
        "",
        "Leads grouped by their predicted probability. When the model says 30%, about 30% of "
        "such leads should convert.",
        "",
        "| predicted range | leads | average predicted | actually converted |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        if r["count"]:
            lines.append(
                f"| {r['bin']} | {r['count']} | {_pct(r['predicted'])} | {_pct(r['observed'])} |"
            )
    return [*lines, ""]


def _lift_section(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Who should sales call first? (lift by decile)",
        "",
        "All leads sorted from highest to lowest score and cut into ten equal groups. *Lift* "
        "is how many times more often a group converts than leads overall; *captured* is the "
        "share of all conversions found by working down the list to that group.",
        "",
        "| group (best first) | leads | scores from | conversion rate | lift | captured so far |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {(r['decile'] - 1) * 10}-{r['decile'] * 10}% | {r['count']} | "
            f"{round(100 * r['min_probability'])} | "
            f"{_pct(r['conversion_rate'])} | {_num(r['lift'], 2)}x | "
            f"{_pct(r['cumulative_share_of_conversions'], 0)} |"
        )
    return [*lines, ""]


def _features_section(report: dict[str, Any]) -> list[str]:
    feats = report["features"]
    lines = ["## What the model looks at", ""]
    if report.get("importance"):
        lines += [
            "Most influential features (average push on a lead's score, in log-odds):",
            "",
        ]
        lines += [
            f"{i}. {item['feature']} ({item['mean_abs_log_odds']:.2f})"
            for i, item in enumerate(report["importance"][:10], start=1)
        ]
        lines.append("")
    lines += [f"Features used ({len(feats['kept'])}):", ""]
    for f in feats["kept"]:
        note = f" – {f['note']}" if f["note"] else ""
        lines.append(f"- **{f['name']}** ({f['kind']}){note}")
    lines.append("")
    if feats["dropped"]:
        lines += ["Columns not used, and why:", ""]
        lines += [f"- **{d['column']}**: {d['reason']}" for d in feats["dropped"]]
        lines.append("")
    return lines


def _leakage_section(report: dict[str, Any]) -> list[str]:
    warnings = report["leakage"]["warnings"]
    lines = ["## Leakage check", ""]
    if not warnings:
        lines += [
            "No column looks like it was filled in after the outcome was known. (The check is "
            "statistical: a column written after the outcome can still slip through if it is "
            "only mildly predictive; review any column whose timing you are unsure of.)",
            "",
        ]
        return lines
    lines += [
        "**Warning.** These columns look like they were filled in *after* the outcome was "
        "known (for example a sales status). A model that uses them looks great on past data "
        "but cannot be used for new leads, where the value does not exist yet. If that is the "
        "case, train again with `--exclude COLUMN` for each:",
        "",
    ]
    lines += [f"- **{w['column']}**: {w['reason']}" for w in warnings]
    return [*lines, ""]


def _why(card: dict[str, Any]) -> str:
    """Why the chosen candidate was chosen, in the words of `train.choose_candidate`."""
    if card["model"]["chosen"] == "blend":
        return "chosen because it beat both families beyond fold-to-fold noise"
    return "chosen because it scored best"


def to_markdown(card: dict[str, Any]) -> str:
    """The human-readable card (model_card.md)."""
    data, val, model = card["data"], card["validation"], card["model"]
    metrics = card["metrics"]
    chosen = model["chosen"]
    lines = [
        "# Lead scoring model card",
        "",
        f"Trained {card['trained_at']} with leadscore {card['leadscore_version']}.",
        "",
        "## In one paragraph",
        "",
        f"This model estimates the probability that a lead converts ({data['target']} = "
        f"{data['positive_value']!r}). It learnt from {data['rows_used']:,} past leads in "
        f"`{data['file']}`, of which {_pct(data['positive_rate'])} converted. On leads it had "
        f"not seen it ranks converters above non-converters {_pct(metrics['roc_auc'], 0)} of "
        f"the time ({_auc_words(metrics['roc_auc'])}). Its top 10% of leads converted at "
        f"{_pct(metrics['lift'][0]['conversion_rate'], 0)} versus "
        f"{_pct(data['positive_rate'], 0)} overall. The score is the probability x 100.",
        "",
    ]
    lines += _leakage_section(card) if card["leakage"]["warnings"] else []
    lines += _metrics_section(metrics, data["positive_rate"])
    if "metrics_latest_fold" in card:
        lines += _time_section(card)
    lines += _calibration_section(metrics["calibration"])
    lines += _lift_section(metrics["lift"])
    lines += _features_section(card)
    if not card["leakage"]["warnings"]:
        lines += _leakage_section(card)
    lines += [
        "## How it was built",
        "",
        f"- Model: {MODEL_NAMES[chosen]}, {_why(card)} in {val['folds']}-fold "
        f"cross-validation ({SCHEMES[val['scheme']]}; seed {val['seed']}).",
        f"- Probabilities calibrated with the {model['calibration']['method']} method.",
        "- Candidates (mean ROC AUC across folds):",
    ]
    for name, s in model["candidates"].items():
        mark = " ← chosen" if name == chosen else ""
        lines.append(f"  - {name}: {s['roc_auc_mean']:.4f} (± {s['roc_auc_std']:.4f}){mark}")
    if data.get("recency_reference"):
        lines.append(f"- Dates measured as days before {data['recency_reference']}.")
    lines += [f"- Note: {n}" for n in card.get("notes", [])]
    lines.append("")
    return "\n".join(lines)
