"""The model folder is loaded safely: only the explicitly trusted types, never a pickle."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier

from leadscore.ml.artifact import MODEL_FILE, TRUSTED_TYPES, load
from leadscore.ml.errors import MLInputError
from leadscore.ml.estimators import fit_family
from leadscore.ml.features import fit_spec, transform


def test_every_family_saves_only_trusted_types(tmp_path: Path, make_leads) -> None:
    frame, _ = make_leads(3000, seed=2)  # >= 2000 rows: the early-stopped boosting bag
    y = (frame["converted"] == "yes").to_numpy().astype(int)
    spec = fit_spec(frame, skip={"converted": "target", "lead_id": "id"})
    X = transform(frame, spec)
    families = {
        fam: fit_family(fam, X, y, spec, 0, use_lightgbm=False) for fam in ("logistic", "gbm")
    }
    sio.dump(families, tmp_path / "m.skops")
    untrusted = set(sio.get_untrusted_types(file=tmp_path / "m.skops"))
    assert untrusted <= set(TRUSTED_TYPES)


def test_foreign_type_in_model_file_is_refused(tmp_path: Path, trained_model: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(trained_model, folder)
    sio.dump({"gbm": [Counter(a=1)]}, folder / MODEL_FILE)
    with pytest.raises(MLInputError, match="refusing to load untrusted types: collections.Counter"):
        load(folder)


def test_pickle_or_garbage_model_file_is_refused(tmp_path: Path, trained_model: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(trained_model, folder)
    (folder / MODEL_FILE).write_bytes(b"\x80\x04\x95not a skops zip")
    with pytest.raises(MLInputError, match="not a readable skops file"):
        load(folder)


def test_loaded_model_predicts_like_the_saved_one(trained_model: Path) -> None:
    model, meta, spec = load(trained_model)
    assert meta["target"] == "converted" and meta["positive_value"] == "yes"
    assert set(model) <= {"logistic", "gbm"}
    assert all(
        isinstance(m, HistGradientBoostingClassifier) or hasattr(m, "named_steps")
        for members in model.values()
        for m in members
    )
    assert spec.features
