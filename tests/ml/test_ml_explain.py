"""Reasons: exact contributions for logistic regression, a sound replacement method for
boosting, and readable wording."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from leadscore.ml import explain
from leadscore.ml.estimators import family_logit, fit_family
from leadscore.ml.features import fit_spec, transform


def _design(make_leads, n=1500):
    frame, _ = make_leads(n, seed=12)
    y = (frame["converted"] == "yes").to_numpy().astype(int)
    spec = fit_spec(frame, skip={"converted": "target", "lead_id": "id"})
    return frame, transform(frame, spec), y, spec


def test_logistic_contributions_add_up_to_the_log_odds(make_leads) -> None:
    _, X, y, spec = _design(make_leads)
    members = fit_family("logistic", X, y, spec, 0, use_lightgbm=False)
    data = {"linear_centre": explain.linear_centre(members[0], X)}
    contrib = explain.contributions({"logistic": members}, X, spec, data)
    z = family_logit(members, X)
    offset = z - contrib.sum(axis=1)
    assert np.allclose(offset, offset[0])  # log-odds = average lead + sum of contributions
    assert contrib.shape == (len(X), len(spec.features))


def test_replacement_method_is_exact_for_an_additive_boosting_model(make_leads) -> None:
    _, X, y, spec = _design(make_leads)
    stumps = HistGradientBoostingClassifier(
        max_depth=1, max_iter=60, categorical_features=spec.cat_mask, random_state=0
    ).fit(X, y)  # depth-1 trees: the log-odds is a sum of one-feature functions
    background = explain.fit_background(X, spec)
    contrib = explain.contributions({"gbm": [stumps]}, X, spec, {"background": background})
    offset = family_logit([stumps], X) - contrib.sum(axis=1)
    assert np.ptp(offset) < 1e-6


def test_reasons_read_like_a_sentence(make_leads) -> None:
    frame, X, _, spec = _design(make_leads, 200)
    contrib = np.zeros((3, len(spec.features)))
    names = [f.name for f in spec.features]
    contrib[0, names.index("source")] = 0.8
    contrib[0, names.index("time_on_site")] = 0.3
    contrib[0, names.index("days_since_purchase")] = -0.5
    contrib[1, names.index("budget")] = -0.01  # too small to mention
    phrases = explain.describe_values(frame[:3], X[:3], spec)
    text = explain.reasons(contrib, phrases)
    source = frame["source"][0]
    assert text[0].startswith(f"+ source = {source}; + time_on_site ")
    assert "\u2212 days_since_purchase" in text[0]
    assert text[1] == "" and text[2] == ""


def test_value_wording(make_leads) -> None:
    frame, X, _, spec = _design(make_leads, 400)
    phrases = dict(
        zip([f.name for f in spec.features], explain.describe_values(frame, X, spec), strict=True)
    )
    never = int(np.flatnonzero(frame["days_since_purchase"].to_numpy() == 999)[0])
    assert phrases["days_since_purchase"][never] == "days_since_purchase = 999 (none/never)"
    select = int(np.flatnonzero(frame["budget"].to_numpy() == "Select")[0])
    assert phrases["budget"][select] == "budget missing"
    top = int(np.argmax(frame["time_on_site"].to_numpy()))
    assert phrases["time_on_site"][top].startswith("time_on_site very high (")
    assert phrases["created_at"][0].endswith("days ago")
    assert isinstance(frame, pl.DataFrame)
