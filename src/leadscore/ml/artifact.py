"""The model folder: fitted estimators in skops format, everything else as JSON and Markdown.

No pickle is ever loaded. `model.skops` is opened only when every type it names is on the
explicit `TRUSTED_TYPES` list below (the scikit-learn and LightGBM classes our trainer
creates); anything else is refused. Preparation, calibration and explanation data live in
`model.json` as plain numbers and strings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import skops.io as sio

from leadscore.ml.errors import MLInputError
from leadscore.ml.features import FeatureSpec

if TYPE_CHECKING:
    from leadscore.ml.estimators import FittedModel

MODEL_FILE = "model.skops"
META_FILE = "model.json"
CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"

# Types skops does not trust by default but our models contain (scikit-learn estimators and
# numpy arrays are trusted by skops itself). Anything else in a model file is refused.
TRUSTED_TYPES = [
    "numpy.dtype",
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
]


def _clean_json(value: object) -> object:
    """JSON without NaN/Infinity (they become null), so any JSON reader accepts the files."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


clean_json = _clean_json


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean_json(data), indent=2, ensure_ascii=False) + "\n")


def save(
    model_dir: Path, model: FittedModel, meta: dict[str, Any], card: dict[str, Any], card_md: str
) -> None:
    """Write the four files of a model folder."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        sio.dump(model, model_dir / MODEL_FILE)
        write_json(model_dir / META_FILE, meta)
        write_json(model_dir / CARD_JSON, card)
        (model_dir / CARD_MD).write_text(card_md)
    except OSError as exc:
        raise MLInputError(f"{model_dir}: cannot write the model ({exc.strerror or exc})") from None


def load(model_dir: Path) -> tuple[FittedModel, dict[str, Any], FeatureSpec]:
    """Read a model folder, refusing any stored type outside the trusted list."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise MLInputError(f"{model_dir}: model folder not found")
    for name in (MODEL_FILE, META_FILE):
        if not (model_dir / name).is_file():
            raise MLInputError(f"{model_dir}: not a leadscore model folder ({name} missing)")
    try:
        meta = json.loads((model_dir / META_FILE).read_text())
        spec = FeatureSpec.from_dict(meta["spec"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MLInputError(f"{model_dir / META_FILE}: unreadable ({exc})") from None
    require_lightgbm(meta, str(model_dir))
    model = _load_trusted(model_dir / MODEL_FILE, str(model_dir / MODEL_FILE))
    return model, meta, spec


def require_lightgbm(meta: dict[str, Any], where: str) -> None:
    """Fail clearly when a model was fitted with LightGBM and it is not installed here."""
    if meta.get("uses_lightgbm"):
        try:
            import lightgbm  # noqa: F401
        except ImportError:
            raise MLInputError(
                f"{where}: this model needs LightGBM; pip install 'leadscore[lightgbm]'"
            ) from None


def dumps(model: FittedModel) -> bytes:
    """The fitted estimators as skops bytes (stored in the database for store-trained models)."""
    data: bytes = sio.dumps(model)
    return data


def loads(data: bytes, where: str) -> FittedModel:
    """Fitted estimators from skops bytes, under the same trusted-type rule as a model folder."""
    return _load_trusted(bytes(data), where)


def _load_trusted(source: Path | bytes, where: str) -> FittedModel:
    """Load skops data, refusing any stored type outside `TRUSTED_TYPES`."""
    as_file = isinstance(source, Path)
    try:
        if as_file:
            untrusted = sio.get_untrusted_types(file=source)
        else:
            untrusted = sio.get_untrusted_types(data=source)
    except Exception as exc:  # skops raises several types for damaged data
        raise MLInputError(f"{where}: not a readable skops file ({exc})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise MLInputError(f"{where}: refusing to load untrusted types: {', '.join(refused)}")
    trusted = [t for t in untrusted if t in TRUSTED_TYPES]
    model: FittedModel = (
        sio.load(source, trusted=trusted) if as_file else sio.loads(source, trusted=trusted)
    )
    return model
