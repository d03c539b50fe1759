"""Transfer learning across groups (categories, stores) to a target with little history: all three kinds.

``transfer_experiment`` compares, on a target with little history:
  * ``scratch``: the model trained on the target's short history only;
  * ``zero_shot``: the model pretrained on the source groups, applied as is;
  * ``fine_tuned``: the pretrained model after ``fine_tune_epochs`` more epochs on the target
    (**model-based** transfer: the source's weights are the starting point).
``gain`` = 1 - MASE(fine_tuned) / MASE(scratch); ``negative_transfer`` flags ``gain < 0`` (the
source knowledge hurt).

``transfer_kinds`` adds the two other kinds (the same ideas as ``forecasters.conversion.transfer``):
  * **instance-based**: the template fitted on the target plus source series drawn (with replacement, seeded)
    with probability proportional to their similarity to the target, ``exp(-sharpness (1 - corr))``, where
    ``corr`` is the correlation of a source series with the target's mean z-scored profile over the target's
    dates (``similarity_weights``): source series that move like the target count more;
  * **feature-based**: domain-invariant features: every series (source and target) is z-scored by its own
    mean and standard deviation over its history (and shifted by ``Z_OFFSET`` standard deviations, floored
    at 0: forecasters take non-negative sales), the template is fitted on the pooled standardised series and
    the target's forecasts are mapped back: level and scale, the largest differences between stores or
    departments, are removed, so what is learned on the source (the shape of the dynamics) is shared.
Each kind reports its gain over scratch and flags negative transfer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y
from forecasters.metrics import insample_scale, score
from forecasters.neural.base import NeuralForecaster
from shopgym.errors import DataError

#: Standard deviations added to z-scored series so they stay non-negative (values below -3 sd are floored).
Z_OFFSET = 3.0
#: The arms of ``transfer_kinds``, in table order.
KINDS = ("scratch", "zero_shot", "model_based", "instance_based", "feature_based")


@dataclass
class TransferResult:
    """Scores (see ``metrics.score``) of each arm and the transfer verdict."""

    source: str
    target: str
    scratch: dict
    zero_shot: dict
    fine_tuned: dict

    @property
    def gain(self) -> float:
        """Relative MASE improvement of fine-tuning over training from scratch (> 0 is better)."""
        return 1.0 - self.fine_tuned["MASE"] / self.scratch["MASE"]

    @property
    def negative_transfer(self) -> bool:
        return self.gain < 0


def transfer_experiment(template: NeuralForecaster, source: pd.DataFrame, target_history: pd.DataFrame,
                        target_future: pd.DataFrame, h: int, fine_tune_epochs: int = 5, source_name: str = "source",
                        target_name: str = "target", season_length: int = 52, point: str = "mean") -> TransferResult:
    """Run the three arms and score them on ``target_future`` (the ``h`` steps after ``target_history``).

    MASE is scaled by each target series' in-sample seasonal-naive MAE on its short history (lag-1
    naive when it is shorter than a season).
    """
    pre = template.clone().fit(source)
    scratch = template.clone().fit(target_history)
    tuned = copy.deepcopy(pre).fine_tune(target_history, epochs=fine_tune_epochs)
    scale = insample_scale(target_history, season_length)
    truth = target_future[[ID, DS, Y]].assign(**{ID: target_future[ID].astype(str)})

    def run(model):
        fc = model.predict(h, df=target_history).merge(truth, on=[ID, DS])
        return score(fc, scale, point=point)

    return TransferResult(source_name, target_name, run(scratch), run(pre), run(tuned))


def similarity_weights(source: pd.DataFrame, target: pd.DataFrame, sharpness: float = 5.0) -> pd.Series:
    """Per source series, ``exp(-sharpness (1 - corr))`` in ``(0, 1]``: ``corr`` is the correlation of the
    series with the target's mean z-scored profile on the target's dates (0 where they share fewer than 3)."""
    def z(df):
        w = df.pivot_table(index=DS, columns=ID, values=Y)
        return (w - w.mean()) / w.std(ddof=0).replace(0.0, np.nan)

    profile = z(target).mean(axis=1)
    src = z(source).reindex(profile.index)
    ok = src.notna() & profile.notna().to_numpy()[:, None]
    a = src.where(ok)
    b = pd.DataFrame(np.broadcast_to(profile.to_numpy()[:, None], a.shape), index=a.index, columns=a.columns).where(ok)
    a, b = a - a.mean(), b - b.mean()
    corr = (a * b).sum() / np.sqrt((a**2).sum() * (b**2).sum())
    corr = corr.where(ok.sum() >= 3).fillna(0.0).clip(-1.0, 1.0)
    return np.exp(-sharpness * (1.0 - corr)).rename("weight")


def _zscore(df: pd.DataFrame, stats: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``df`` with ``y`` z-scored per series (by ``stats``, default its own mean and sd) plus ``Z_OFFSET``, and the stats."""
    if stats is None:
        g = df.groupby(ID)[Y]
        stats = pd.DataFrame({"mu": g.mean(), "sd": g.std(ddof=0)})
        stats["sd"] = stats["sd"].where(stats["sd"] > 0, 1.0)
    mu, sd = df[ID].map(stats["mu"]), df[ID].map(stats["sd"])
    return df.assign(**{Y: np.maximum((df[Y] - mu) / sd + Z_OFFSET, 0.0)}), stats


def _unscore(fc: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    mu, sd = fc[ID].map(stats["mu"]), fc[ID].map(stats["sd"])
    cols = [c for c in fc.columns if c == "mean" or c.startswith("q")]
    return fc.assign(**{c: np.maximum((fc[c] - Z_OFFSET) * sd + mu, 0.0) for c in cols})


def transfer_kinds(template, source: pd.DataFrame, target_history: pd.DataFrame, target_future: pd.DataFrame,
                   h: int, fine_tune_epochs: int = 5, season_length: int = 52, point: str = "mean",
                   sharpness: float = 5.0, seed: int = 0) -> pd.DataFrame:
    """Every kind of transfer against training from scratch, scored on ``target_future``.

    Args:
        template: an unfitted global forecaster (``model_based`` needs a ``NeuralForecaster``; for another
            model that row is left out).
        source, target_history: long frames; the target's history is short.
        target_future: the ``h`` steps after ``target_history`` (truth).
        fine_tune_epochs: epochs of model-based fine-tuning.
        season_length, point: as in ``transfer_experiment`` (MASE scale and point forecast).
        sharpness: of the instance weights (``similarity_weights``).
        seed: of the instance resampling.

    Returns:
        One row per arm of ``KINDS``: ``method``, the ``metrics.score`` columns, ``gain`` = 1 - MASE / MASE(scratch)
        and ``negative_transfer`` (gain < 0; never for scratch).
    """
    shared = set(source[ID].astype(str)) & set(target_history[ID].astype(str))
    if shared:
        raise DataError(f"source and target share series {sorted(shared)[:3]}; give the target's series other names.")
    scale = insample_scale(target_history, season_length)
    truth = target_future[[ID, DS, Y]].assign(**{ID: target_future[ID].astype(str)})

    def run(fc):
        return score(fc.merge(truth, on=[ID, DS]), scale, point=point)

    cols = [ID, DS, Y]
    src, tgt = source[cols], target_history[cols]
    rows = {"scratch": run(template.clone().fit(tgt).predict(h, df=tgt))}
    pre = template.clone().fit(src)
    rows["zero_shot"] = run(pre.predict(h, df=tgt))
    if isinstance(pre, NeuralForecaster):
        rows["model_based"] = run(copy.deepcopy(pre).fine_tune(tgt, epochs=fine_tune_epochs).predict(h, df=tgt))
    w = similarity_weights(src, tgt, sharpness)
    ids = w.index.to_numpy()
    draw = np.random.default_rng(seed).choice(len(ids), size=len(ids), p=(w / w.sum()).to_numpy())
    by_id = dict(tuple(src.groupby(ID)))
    picked = [by_id[ids[j]].assign(**{ID: f"{ids[j]}#{k}"}) for k, j in enumerate(draw)]
    rows["instance_based"] = run(template.clone().fit(pd.concat([*picked, tgt], ignore_index=True)).predict(h, df=tgt))
    zsrc, _ = _zscore(src)
    ztgt, stats = _zscore(tgt)
    zmodel = template.clone().fit(pd.concat([zsrc, ztgt], ignore_index=True))
    rows["feature_based"] = run(_unscore(zmodel.predict(h, df=ztgt), stats))
    out = pd.DataFrame([{"method": k, **v} for k, v in rows.items()])
    out["gain"] = 1.0 - out["MASE"] / rows["scratch"]["MASE"]
    out["negative_transfer"] = (out["gain"] < 0) & (out["method"] != "scratch")
    return out
