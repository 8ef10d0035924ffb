"""Has the world moved since training? The training profile and the drift report (SPEC §7).

At training, `fit_profile` records per raw feature how its values were spread, as plain JSON
kept in the model's meta (`meta["profile"]`). At scoring, `report` compares new rows with it,
on the same prepared values the model sees (placeholders as missing, sentinels apart, dates
as days ago, categories case-folded), so what is reported is what the model scores.

Per feature the report gives the share of rows outside the training range (numbers, flags,
days ago) or in categories never seen in training, the share missing beside the training's,
and the population stability index over the training bins:

    PSI = sum over bins of (a - e) * ln(a / e)

with `e` the training share and `a` the new share of a bin, each raised to at least
`EPSILON` so that an empty bin counts as rare rather than infinite. Number bins are cut at the
training deciles (plus a missing bin and, with a sentinel, a sentinel bin); category bins are
the training's kept categories, "other" (any other present value) and missing.

A feature is *drifted* when PSI >= `PSI_DRIFT` or at least `SHARE_DRIFT` of its rows lie
outside the training range or in unseen categories; *moderate* when PSI >= `PSI_MODERATE`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError
from leadscore.ml.features import FeatureSpec

PSI_DRIFT = 0.25
"""PSI from which a feature is drifted: the distribution has changed markedly."""
PSI_MODERATE = 0.10
"""PSI from which a shift is worth watching (below `PSI_DRIFT`)."""
SHARE_DRIFT = 0.05
"""Share of rows outside the training range, or in unseen categories, that is drift."""
EPSILON = 1e-4
"""Floor for a bin's share in the PSI, so that an empty bin does not make it infinite."""
MAX_SEEN = 1000
"""Distinct training categories a profile remembers (the most frequent first)."""
EXAMPLES = 5
"""Unseen categories the report names, the most frequent first."""
PROFILE_FORMAT = 1
NO_PROFILE = "no training profile; retrain to get drift reports"


class NoProfileError(MLInputError):
    """The model was trained before drift reports existed."""

    def __init__(self, where: str = "") -> None:
        super().__init__(f"{where}: {NO_PROFILE}" if where else NO_PROFILE)


def thresholds() -> dict[str, float]:
    """The documented thresholds, as every report states them."""
    return {"psi_drift": PSI_DRIFT, "psi_moderate": PSI_MODERATE, "share_drift": SHARE_DRIFT}


def profile_of(meta: dict[str, Any], where: str = "") -> dict[str, Any]:
    """The training profile stored with a model, or `NoProfileError`."""
    profile = meta.get("profile")
    if not isinstance(profile, dict) or "features" not in profile:
        raise NoProfileError(where)
    return profile


# --- the prepared values -----------------------------------------------------------------


def _measures(
    spec: FeatureSpec,
) -> tuple[dict[str, tuple[str, dict[str, int]]], list[dict[str, str]]]:
    """Raw feature -> (the part measured, design column per part); and the features skipped."""
    columns: dict[str, dict[str, int]] = {f.name: {} for f in spec.features}
    for j, d in enumerate(spec.design):
        columns[d.source][d.part] = j
    out: dict[str, tuple[str, dict[str, int]]] = {}
    skipped: list[dict[str, str]] = []
    for f in spec.features:
        if f.kind == "datetime":
            if "days_ago" not in columns[f.name]:
                skipped.append(
                    {"feature": f.name, "reason": "the row's time: always later than training"}
                )
                continue
            out[f.name] = ("days_ago", columns[f.name])
        else:
            out[f.name] = ("value", columns[f.name])
    return out, skipped


def _keys(frame: pl.DataFrame, name: str) -> pl.Series:
    if name not in frame.columns:
        return pl.Series(name, [None] * frame.height, dtype=pl.String)
    return col.category_keys(frame[name])


def _bin_index(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin of each present value: (-inf, e1], (e1, e2], ..., (ek, inf)."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")


def _share(count: float, rows: int) -> float:
    return float(count) / rows if rows else 0.0


# --- the training profile ----------------------------------------------------------------


def fit_profile(frame: pl.DataFrame, spec: FeatureSpec, X: np.ndarray) -> dict[str, Any]:
    """The training profile of `frame` (its design matrix `X` as `transform` gave it)."""
    measures, skipped = _measures(spec)
    rows = frame.height
    features: list[dict[str, Any]] = []
    for f in spec.features:
        if f.name not in measures:
            continue
        part, cols = measures[f.name]
        if f.kind == "categorical":
            features.append(_fit_categorical(f.name, _keys(frame, f.name), f.categories, f.labels))
            continue
        values = X[:, cols[part]]
        present = values[~np.isnan(values)]
        edges = (
            sorted({float(e) for e in np.quantile(present, np.linspace(0.1, 0.9, 9))})
            if present.size
            else []
        )
        counts = np.bincount(_bin_index(present, edges), minlength=len(edges) + 1)
        entry: dict[str, Any] = {
            "feature": f.name,
            "kind": f.kind,
            "measure": part,
            "rows": rows,
            "min": float(present.min()) if present.size else None,
            "max": float(present.max()) if present.size else None,
            "edges": edges,
            "shares": [_share(c, rows) for c in counts],
            "missing": 0.0,
            "sentinel": None,
        }
        sentinel_rows = 0
        if "sentinel" in cols:
            sentinel_rows = int(np.nansum(X[:, cols["sentinel"]]))
            entry["sentinel"] = _share(sentinel_rows, rows)
            entry["sentinel_value"] = f.sentinel
        entry["missing"] = _share(rows - present.size - sentinel_rows, rows)
        features.append(entry)
    return {"format": PROFILE_FORMAT, "rows": rows, "features": features, "skipped": skipped}


def _fit_categorical(
    name: str, keys: pl.Series, kept: list[str], labels: list[str]
) -> dict[str, Any]:
    rows = len(keys)
    counts = keys.drop_nulls().value_counts(sort=True, name="n")
    by_key = dict(zip(counts[keys.name].to_list(), counts["n"].to_list(), strict=True))
    shares = [_share(by_key.get(k, 0), rows) for k in kept]
    present = rows - keys.null_count()
    return {
        "feature": name,
        "kind": "categorical",
        "measure": "value",
        "rows": rows,
        "categories": list(kept),
        "labels": list(labels),
        "shares": shares,
        "other": _share(present - sum(by_key.get(k, 0) for k in kept), rows),
        "missing": _share(keys.null_count(), rows),
        "seen": counts[keys.name].head(MAX_SEEN).to_list(),
        "seen_complete": counts.height <= MAX_SEEN,
    }


# --- the report --------------------------------------------------------------------------


def psi(training: list[float], new: list[float]) -> float:
    """Population stability index of two share vectors over the same bins (module doc)."""
    e = np.maximum(np.asarray(training, dtype=np.float64), EPSILON)
    a = np.maximum(np.asarray(new, dtype=np.float64), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def report(
    profile: dict[str, Any], spec: FeatureSpec, frame: pl.DataFrame, X: np.ndarray
) -> dict[str, Any]:
    """The drift report of new rows (`frame` and its design matrix `X`) against `profile`."""
    measures, _ = _measures(spec)
    features: list[dict[str, Any]] = []
    for entry in profile["features"]:
        name = entry["feature"]
        if entry["kind"] == "categorical":
            item = _categorical(entry, _keys(frame, name))
        else:
            _, cols = measures[name]
            values = X[:, cols[entry["measure"]]]
            sentinel = X[:, cols["sentinel"]] if "sentinel" in cols else None
            item = _numeric(entry, values, sentinel)
        item["absent"] = name not in frame.columns
        _judge(item)
        features.append(item)
    return {
        "rows": frame.height,
        "thresholds": thresholds(),
        "drifted": [f["feature"] for f in features if f["drifted"]],
        "moderate": [f["feature"] for f in features if f["status"] == "moderate"],
        "features": features,
        "not_checked": profile.get("skipped", []),
        "training_rows": profile.get("rows"),
    }


def _numeric(
    entry: dict[str, Any], values: np.ndarray, sentinel: np.ndarray | None
) -> dict[str, Any]:
    rows = len(values)
    present = values[~np.isnan(values)]
    sentinel_rows = int(np.nansum(sentinel)) if sentinel is not None else 0
    lo, hi = entry["min"], entry["max"]
    below = int((present < lo).sum()) if lo is not None else 0
    above = int((present > hi).sum()) if hi is not None else 0
    counts = np.bincount(_bin_index(present, entry["edges"]), minlength=len(entry["edges"]) + 1)
    new = [_share(c, rows) for c in counts]
    missing = _share(rows - present.size - sentinel_rows, rows)
    train_bins = [*entry["shares"], entry["missing"]]
    new_bins = [*new, missing]
    item: dict[str, Any] = {
        "feature": entry["feature"],
        "kind": entry["kind"],
        "measure": entry["measure"],
        "rows": rows,
        "training_min": lo,
        "training_max": hi,
        "below": _share(below, rows),
        "above": _share(above, rows),
        "outside": _share(below + above, rows),
        "min": float(present.min()) if present.size else None,
        "max": float(present.max()) if present.size else None,
        "missing": missing,
        "training_missing": entry["missing"],
    }
    if entry.get("sentinel") is not None:
        item["sentinel"] = _share(sentinel_rows, rows)
        item["training_sentinel"] = entry["sentinel"]
        item["sentinel_value"] = entry.get("sentinel_value")
        train_bins.append(entry["sentinel"])
        new_bins.append(item["sentinel"])
    item["psi"] = psi(train_bins, new_bins) if rows else None
    return item


def _categorical(entry: dict[str, Any], keys: pl.Series) -> dict[str, Any]:
    rows = len(keys)
    counts = keys.drop_nulls().value_counts(sort=True, name="n")
    by_key = dict(zip(counts[keys.name].to_list(), counts["n"].to_list(), strict=True))
    kept = entry["categories"]
    present = rows - keys.null_count()
    shares = [_share(by_key.get(k, 0), rows) for k in kept]
    other = _share(present - sum(by_key.get(k, 0) for k in kept), rows)
    missing = _share(keys.null_count(), rows)
    seen = set(entry["seen"])
    unseen = [(k, n) for k, n in by_key.items() if k not in seen]
    return {
        "feature": entry["feature"],
        "kind": "categorical",
        "measure": "value",
        "rows": rows,
        "unseen": _share(sum(n for _, n in unseen), rows),
        "unseen_values": [{"value": k, "rows": n} for k, n in unseen[:EXAMPLES]],
        "other": other,
        "training_other": entry["other"],
        "missing": missing,
        "training_missing": entry["missing"],
        "psi": psi([*entry["shares"], entry["other"], entry["missing"]], [*shares, other, missing])
        if rows
        else None,
    }


def _judge(item: dict[str, Any]) -> None:
    """Set `drifted`, `status` (drifted, moderate or stable) and the `reasons`."""
    reasons: list[str] = []
    value = item["psi"]
    if value is not None and value >= PSI_DRIFT:
        reasons.append(f"PSI {value:.2f} >= {PSI_DRIFT}")
    share = item.get("outside", item.get("unseen", 0.0))
    if item["rows"] and share >= SHARE_DRIFT:
        where = "outside the training range" if "outside" in item else "in unseen categories"
        reasons.append(f"{share:.1%} of rows {where} (>= {SHARE_DRIFT:.0%})")
    item["drifted"] = bool(reasons)
    item["reasons"] = reasons
    moderate = value is not None and value >= PSI_MODERATE
    item["status"] = "drifted" if reasons else "moderate" if moderate else "stable"


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{share:.1%}"


def describe(item: dict[str, Any]) -> str:
    """One drifted feature in words, with its figures (the CLI's warning)."""
    name = item["feature"] + (" (days ago)" if item["measure"] == "days_ago" else "")
    parts: list[str] = []
    if item.get("above", 0.0) >= SHARE_DRIFT:
        parts.append(
            f"{_pct(item['above'])} of rows above the training range (max {item['training_max']:g})"
        )
    if item.get("below", 0.0) >= SHARE_DRIFT:
        parts.append(
            f"{_pct(item['below'])} of rows below the training range (min {item['training_min']:g})"
        )
    if "outside" in item and not parts and item["outside"] >= SHARE_DRIFT:
        parts.append(f"{_pct(item['outside'])} of rows outside the training range")
    if item.get("unseen", 0.0) >= SHARE_DRIFT:
        examples = ", ".join(repr(v["value"]) for v in item["unseen_values"][:3])
        parts.append(
            f"{_pct(item['unseen'])} of rows in categories not seen in training (e.g. {examples})"
        )
    if item["psi"] is not None:
        parts.append(f"PSI {item['psi']:.3g}")
    return f"{name} " + ", ".join(parts)


def warning(drift: dict[str, Any]) -> str | None:
    """`drift: ...` naming every drifted feature (largest PSI first), or None."""
    drifted = [f for f in drift["features"] if f["drifted"]]
    if not drifted:
        return None
    drifted.sort(key=lambda f: -(f["psi"] or 0.0))
    return "drift: " + "; ".join(describe(f) for f in drifted)
