"""Benchmark of `leadscore train`: speed on 100,000 synthetic leads, and ROC AUC on real data
next to two plain baselines run on exactly the same splits.

    .venv/bin/python bench/train.py [--rows 100000] [--skip-real] [--skip-speed]

Real data: ../shared/data (X Education without Tags and Lead Quality; UCI bank marketing
without duration, shuffled 5-fold CV and out of time: earliest 80% -> latest 20%). Baselines:
logistic regression (median imputation, scaling, one-hot, default C) and
HistGradientBoostingClassifier (defaults, native categories), on the same raw columns minus
identifiers. Our `train` runs with its defaults (no flags) inside each training split, so
its model choice is made without seeing the test rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from leadscore.ml.estimators import lightgbm_available  # noqa: E402
from leadscore.ml.io import read_table  # noqa: E402
from leadscore.ml.predict import probabilities  # noqa: E402
from leadscore.ml.train import TrainOptions, train  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def synthetic_leads(n: int, seed: int = 7) -> tuple[pl.DataFrame, np.ndarray]:
    """Leads with a known conversion propensity: numbers, categories (one with hundreds of
    values), yes/no flags, dates, `Select` placeholders, a 999 sentinel and missing values."""
    rng = np.random.default_rng(seed)
    effects = np.random.default_rng(20240101)  # the same world for every sample
    ind_effect = effects.normal(0, 0.4, 20)
    title_effect = effects.normal(0, 0.5, 400)
    logit = np.full(n, -2.2)
    sources = np.array(["organic", "paid", "referral", "event", "partner", "social", "email"])
    source_effect = np.array([0.0, -0.3, 1.2, 0.6, 0.4, -0.6, 0.2])
    s = rng.choice(len(sources), n, p=[0.3, 0.25, 0.08, 0.07, 0.1, 0.12, 0.08])
    logit += source_effect[s]
    industries = np.array([f"industry_{i:02d}" for i in range(20)])
    ind = rng.choice(20, n)
    logit += ind_effect[ind]
    titles = np.array([f"title_{i:03d}" for i in range(400)])
    zipf = 1.0 / np.arange(1, 401) ** 1.1
    t = rng.choice(400, n, p=zipf / zipf.sum())
    logit += title_effect[t]
    size = np.round(np.exp(rng.normal(4.0, 1.5, n))).astype(int) + 1
    logit += 0.25 * (np.log(size) - 4.0)
    visits = rng.poisson(3, n)
    time_on_site = np.round(rng.gamma(2.0, 200.0, n))
    logit += 0.6 * np.log1p(time_on_site / 300) + 0.08 * np.minimum(visits, 10)
    pages = np.round(rng.gamma(2.0, 1.5, n), 2)
    newsletter = rng.random(n) < 0.4
    logit += 0.3 * newsletter
    never = rng.random(n) < 0.7
    days_since_purchase = np.where(never, 999, rng.integers(0, 365, n))
    logit += np.where(never, 0.0, 0.9 - 0.002 * days_since_purchase)
    created = np.datetime64("2024-01-01T00:00:00") + (rng.random(n) * 365 * 86400).astype(
        "timedelta64[s]"
    )
    last_visit_days = rng.exponential(30, n)
    logit += -0.01 * last_visit_days
    last_visit = np.datetime64("2025-01-01T00:00:00") - (last_visit_days * 86400).astype(
        "timedelta64[s]"
    )
    budget = rng.choice(["Select", "<10k", "10k-50k", ">50k"], n, p=[0.4, 0.25, 0.2, 0.15])
    logit += np.select([budget == ">50k", budget == "10k-50k"], [0.7, 0.3], 0.0)
    revenue = np.where(rng.random(n) < 0.15, np.nan, np.round(size * rng.gamma(2, 50_000, n)))
    p = 1 / (1 + np.exp(-logit))
    converted = rng.random(n) < p
    frame = pl.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(n)],
            "created_at": created.astype(str),
            "source": sources[s],
            "industry": industries[ind],
            "job_title": titles[t],
            "company_size": size,
            "annual_revenue": revenue,
            "visits": visits,
            "time_on_site": time_on_site,
            "pages_per_visit": pages,
            "newsletter": np.where(newsletter, "yes", "no"),
            "days_since_purchase": days_since_purchase,
            "last_visit_at": last_visit.astype(str),
            "budget": budget,
            "converted": converted.astype(int),
        }
    )
    return frame, p


def _quiet_train(frame: pl.DataFrame, options: TrainOptions):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(frame, options, source="bench", trained_at="bench")


def ours(train_frame: pl.DataFrame, test_frame: pl.DataFrame, options: TrainOptions) -> np.ndarray:
    result = _quiet_train(train_frame, options)
    _, p = probabilities(result.model, result.meta, result.spec, test_frame, as_of=None)
    return p


def _raw_matrix(frame: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[bool]]:
    parts, is_cat = [], []
    for c in columns:
        s = frame[c]
        as_num = s.cast(pl.Float64, strict=False)
        if as_num.null_count() == s.null_count():
            parts.append(as_num.to_numpy().astype(object))
            is_cat.append(False)
        else:
            parts.append(s.cast(pl.String).fill_null("(missing)").to_numpy().astype(object))
            is_cat.append(True)
    return np.column_stack(parts), is_cat


def baselines(
    frame: pl.DataFrame, y: np.ndarray, columns: list[str], train_idx, test_idx
) -> dict[str, np.ndarray]:
    X, is_cat = _raw_matrix(frame, columns)
    num = [j for j, c in enumerate(is_cat) if not c]
    cat = [j for j, c in enumerate(is_cat) if c]
    lr = make_pipeline(
        ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
                ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
            ]
        ),
        LogisticRegression(max_iter=5000),
    )
    hgb = make_pipeline(
        ColumnTransformer(
            [
                ("num", "passthrough", num),
                (
                    "cat",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=np.nan,
                        encoded_missing_value=np.nan,
                    ),
                    cat,
                ),
            ]
        ),
        HistGradientBoostingClassifier(
            categorical_features=[False] * len(num) + [True] * len(cat), random_state=0
        ),
    )
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in (("logistic (plain)", lr), ("hist GBM (plain)", hgb)):
            Xtr = X[train_idx]
            Xtr_num = Xtr.copy()
            Xtr_num[:, num] = Xtr[:, num].astype(float)
            model.fit(Xtr_num, y[train_idx])
            Xte = X[test_idx].copy()
            Xte[:, num] = Xte[:, num].astype(float)
            out[name] = model.predict_proba(Xte)[:, 1]
    return out


def compare(
    label: str,
    frame: pl.DataFrame,
    y: np.ndarray,
    variants: dict[str, TrainOptions],
    raw_columns: list[str],
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    scores: dict[str, list[float]] = {}
    started = time.perf_counter()
    for train_idx, test_idx in splits:
        tr, te = frame[train_idx], frame[test_idx]
        preds = {name: ours(tr, te, opt) for name, opt in variants.items()}
        preds.update(baselines(frame, y, raw_columns, train_idx, test_idx))
        for name, p in preds.items():
            scores.setdefault(name, []).append(roc_auc_score(y[test_idx], p))
    elapsed = time.perf_counter() - started
    print(f"\n{label}  ({len(splits)} split(s), {elapsed:.0f} s)")
    for name, values in scores.items():
        spread = f" ± {np.std(values):.4f}" if len(values) > 1 else ""
        print(f"  {name:32s} ROC AUC {np.mean(values):.4f}{spread}")


def speed(rows: int, engine: str) -> None:
    frame, p = synthetic_leads(rows)
    holdout, p_holdout = synthetic_leads(20_000, seed=8)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "leads.csv"
        frame.write_csv(data)
        test = Path(tmp) / "holdout.csv"
        holdout.drop("converted").write_csv(test)
        cmd = [sys.executable, "-c", "from leadscore.cli import app; app()"]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        started = time.perf_counter()
        subprocess.run(
            [*cmd, "train", "--data", str(data), "--target", "converted", "--out", f"{tmp}/m"]
            + ["--engine", engine],
            check=True,
            env=env,
        )
        took = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(
            [*cmd, "predict", "--model", f"{tmp}/m", "--data", str(test), "--out", f"{tmp}/s.csv"],
            check=True,
            env=env,
        )
        predict_took = time.perf_counter() - started
        scored = pl.read_csv(f"{tmp}/s.csv")
    y = holdout["converted"].to_numpy()
    q = scored["probability"].to_numpy()
    cpus = os.cpu_count()
    print(
        f"\nsynthetic, --engine {engine}: train on {rows:,} leads (CLI, end to end): "
        f"{took:.1f} s on {cpus} CPUs"
    )
    print(f"  predict 20,000 new leads with reasons: {predict_took:.1f} s")
    print(
        f"  on 20,000 new leads: ROC AUC {roc_auc_score(y, q):.4f} "
        f"(true propensity: {roc_auc_score(y, p_holdout):.4f}); "
        f"correlation with true propensity {np.corrcoef(q, p_holdout)[0, 1]:.3f}"
    )


def _variants(engines: list[str], **kw) -> dict[str, TrainOptions]:
    return {
        f"leadscore train ({engine})": TrainOptions(**kw, use_lightgbm=engine == "lightgbm")
        for engine in engines
    }


def real(engines: list[str]) -> None:
    x_path = SHARED / "x-education-leads" / "Leads.csv"
    x = read_table(x_path)
    y = x["Converted"].cast(pl.Int64).to_numpy()
    leaks = ["Tags", "Lead Quality"]
    variants = _variants(engines, target="Converted", exclude=leaks)
    raw = [c for c in x.columns if c not in {"Converted", "Prospect ID", "Lead Number", *leaks}]
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    compare("X Education, 5-fold CV, without Tags and Lead Quality", x, y, variants, raw, splits)

    bank = read_table(SHARED / "uci-bank-marketing" / "bank-additional-train.csv")
    yb = (bank["y"] == "yes").cast(pl.Int64).to_numpy()
    variants = _variants(engines, target="y", exclude=["duration"])
    raw = [c for c in bank.columns if c not in {"y", "duration"}]
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(yb)), yb))
    compare(
        "bank marketing, 5-fold CV (shuffled), without duration", bank, yb, variants, raw, splits
    )
    cut = int(0.8 * len(yb))
    oot = [(np.arange(cut), np.arange(cut, len(yb)))]
    variants |= {
        f"{name} --row-order-is-time": TrainOptions(
            target="y", exclude=["duration"], row_order_is_time=True, use_lightgbm=opt.use_lightgbm
        )
        for name, opt in variants.items()
    }
    compare("bank marketing, out of time: earliest 80% -> latest 20%", bank, yb, variants, raw, oot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    engines = ["sklearn"] + (["lightgbm"] if lightgbm_available() else [])
    if not args.skip_speed:
        for engine in engines:
            speed(args.rows, engine)
    if not args.skip_real:
        if not SHARED.is_dir():
            print(f"\nno shared datasets at {SHARED}: real-data comparison skipped")
        else:
            real(engines)


if __name__ == "__main__":
    main()
