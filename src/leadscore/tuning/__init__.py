"""Evidence-based tuning of rule models (SPEC §7): `suggest` and `backtest`.

Both replay history with the reference scorer (`core.evaluate.score_lead`) at the moment
just before each outcome, so that nothing recorded after the outcome leaks into the evidence.
`history` reads leads, events and outcomes; `features` turns explanations into regression
inputs; `fitting` runs the regularised logistic regression; `points` maps coefficients back
onto the model; `thresholds` picks MQL/SQL; `replay` walks each lead through its event times;
`metrics` has AUC and bands; `yamlfile` writes the new model with its comments kept;
`report` prints; `commands` is the CLI. Method and caveats: docs/tuning.md.
"""
