"""Transfer learning across groups (categories, stores): pretrain on sources, fine-tune on a target.

``transfer_experiment`` compares, on a target with little history:
  * ``scratch``: the model trained on the target's short history only;
  * ``zero_shot``: the model pretrained on the source groups, applied as is;
  * ``fine_tuned``: the pretrained model after ``fine_tune_epochs`` more epochs on the target.
``gain`` = 1 - MASE(fine_tuned) / MASE(scratch); ``negative_transfer`` flags ``gain < 0`` (the
source knowledge hurt).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd

from forecasters.data import DS, ID, Y
from forecasters.metrics import insample_scale, score
from forecasters.neural.base import NeuralForecaster


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
