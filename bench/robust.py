"""Is the default learner robust? `leadscore train` against plain logistic regression and plain
gradient boosting on every shared dataset, in shuffled and out-of-time splits.

    .venv/bin/python bench/robust.py [--dataset xed|bank]... [--cuts 0.6 0.7 0.8]
                                     [--splits all|shuffled|oot]

Splits: shuffled stratified 5-fold CV (each fold a split), and out of time at several cut
points of the file's own order (train on the earliest 60/70/80%, test on the rest). Our
`train` runs with its defaults inside each training split, plus `--row-order-is-time` on the
out-of-time splits (the training rows are then in time order, as a user would say). The
baselines (bench/train.py) use the same raw columns and the same splits. The table gives each
learner's ROC AUC, the margin of ours to the better baseline (target: never below -0.01, above
0 on most splits), and the time each learner took. Baseline figures are cached in
bench/.cache/robust-baselines.json (delete it to measure them again). Everything runs on one
thread (OpenMP spin-waiting on a busy 2-core machine made some fits ten times slower).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import REPO, TrainOptions, baselines, ours  # noqa: E402

from leadscore.ml.io import read_table  # noqa: E402

CACHE = REPO / "bench" / ".cache" / "robust-baselines.json"
# ../shared/data from the repository, or from further up (a worktree lives one level deeper)
SHARED = next(
    (p / "shared" / "data" for p in REPO.parents if (p / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data",
)


def datasets() -> dict[str, tuple[pl.DataFrame, np.ndarray, dict[str, object], list[str]]]:
    """name -> (table, labels, TrainOptions keywords, raw columns for the baselines)."""
    x = read_table(SHARED / "x-education-leads" / "Leads.csv")
    leaks = ["Tags", "Lead Quality"]
    x_raw = [c for c in x.columns if c not in {"Converted", "Prospect ID", "Lead Number", *leaks}]
    bank = read_table(SHARED / "uci-bank-marketing" / "bank-additional-train.csv")
    return {
        "xed": (
            x,
            x["Converted"].cast(pl.Int64).to_numpy(),
            {"target": "Converted", "exclude": leaks},
            x_raw,
        ),
        "bank": (
            bank,
            (bank["y"] == "yes").cast(pl.Int64).to_numpy(),
            {"target": "y", "exclude": ["duration"]},
            [c for c in bank.columns if c not in {"y", "duration"}],
        ),
    }


def splits(y: np.ndarray, cuts: list[float]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    out = [(f"shuffled fold {k + 1}/5", tr, te) for k, (tr, te) in enumerate(folds)]
    for c in cuts:
        cut = int(c * len(y))
        name = f"out of time {round(100 * c)}/{round(100 * (1 - c))}"
        out.append((name, np.arange(cut), np.arange(cut, len(y))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", choices=["xed", "bank"])
    parser.add_argument("--cuts", type=float, nargs="+", default=[0.6, 0.7, 0.8])
    parser.add_argument("--splits", choices=["all", "shuffled", "oot"], default="all")
    args = parser.parse_args()
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    rows = []
    for name, (frame, y, kw, raw) in datasets().items():
        if args.dataset and name not in args.dataset:
            continue
        for split, tr, te in splits(y, args.cuts):
            oot = split.startswith("out of time")
            if args.splits != "all" and oot != (args.splits == "oot"):
                continue
            key = f"{name}|{split}"
            started = time.perf_counter()
            if key not in cache:
                preds = baselines(frame, y, raw, tr, te)
                cache[key] = {
                    "lr": roc_auc_score(y[te], preds["logistic (plain)"]),
                    "hgb": roc_auc_score(y[te], preds["hist GBM (plain)"]),
                    "seconds": time.perf_counter() - started,
                }
                CACHE.parent.mkdir(exist_ok=True)
                stored = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
                CACHE.write_text(json.dumps(stored | {key: cache[key]}, indent=1))
            started = time.perf_counter()
            options = TrainOptions(**kw, row_order_is_time=oot, use_lightgbm=False)  # type: ignore[arg-type]
            p = ours(frame[tr], frame[te], options)
            took = time.perf_counter() - started
            b = cache[key]
            auc = roc_auc_score(y[te], p)
            row = {
                "dataset": name,
                "split": split,
                "ours": auc,
                "lr": b["lr"],
                "hgb": b["hgb"],
                "margin": auc - max(b["lr"], b["hgb"]),
                "ours_s": took,
                "baselines_s": b["seconds"],
            }
            rows.append(row)
            print(
                f"{name:5s} {split:22s} ours {auc:.4f}  LR {b['lr']:.4f}  HGB {b['hgb']:.4f}  "
                f"margin {row['margin']:+.4f}  ({took:.0f} s; baselines {b['seconds']:.0f} s)",
                flush=True,
            )
    print(
        "\n| dataset | split | leadscore | plain LR | plain HGB | margin to better "
        "| time (ours / baselines) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        shuffled = [r for r in mine if r["split"].startswith("shuffled")]
        if shuffled:
            m = {k: float(np.mean([r[k] for r in shuffled])) for k in ("ours", "lr", "hgb")}
            worst = min(r["margin"] for r in shuffled)
            secs = sum(r["ours_s"] for r in shuffled), sum(r["baselines_s"] for r in shuffled)
            print(
                f"| {name} | shuffled 5-fold (mean; worst fold margin {worst:+.4f}) | "
                f"{m['ours']:.4f} | {m['lr']:.4f} | {m['hgb']:.4f} | "
                f"{m['ours'] - max(m['lr'], m['hgb']):+.4f} | {secs[0]:.0f} s / {secs[1]:.0f} s |"
            )
        for r in mine:
            if not r["split"].startswith("shuffled"):
                print(
                    f"| {name} | {r['split']} | {r['ours']:.4f} | {r['lr']:.4f} | "
                    f"{r['hgb']:.4f} | {r['margin']:+.4f} | "
                    f"{r['ours_s']:.0f} s / {r['baselines_s']:.0f} s |"
                )
    margins = [r["margin"] for r in rows]
    print(
        f"\n{len(margins)} splits: ahead of both on {sum(m > 0 for m in margins)}, "
        f"worst margin {min(margins):+.4f} (target: >= -0.01)"
    )


if __name__ == "__main__":
    with threadpool_limits(limits=1):  # one thread each: comparable times on a shared machine
        main()
