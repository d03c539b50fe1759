"""``LearnedConversion``: a fitted conversion model acting as the world's response model.

It satisfies ``shopgym.world.protocols.ResponseModel``: for a batch of impressions it builds the
same feature columns the logs carry (``shopgym.world.response.impression_features``), asks the
model for p(click), p(cart), p(purchase) per impression and turns them into the funnel's
conditional probabilities. Select it in a scenario with ``response_model = "learned:PATH"``. A model recalibrated
with ``ConversionModel.calibrate`` (``shopgym conversion calibrate``) answers calibrated here too: its
``predict_proba`` applies the calibration saved with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecasters.conversion.base import ConversionModel
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import STAGES, impression_features, joint_to_funnel, nested_sample
from shopgym.world.shoppers import ShopperPopulation


class LearnedConversion:
    """Response model driven by ``model`` (fitted on funnel logs with tasks ``click, cart, purchase``).

    Args:
        model: a fitted ``ConversionModel`` whose tasks are the funnel stages in order.
        catalog: the world's catalog (item features).
        population: the world's shoppers (shopper features).
    """

    def __init__(self, model: ConversionModel, catalog: Catalog, population: ShopperPopulation, start_weekday: int = 0):
        if tuple(model.tasks) != STAGES:
            raise ValueError(f"a response model must predict the funnel {STAGES}, this one predicts {tuple(model.tasks)}.")
        if not hasattr(model, "network_"):
            raise ValueError("the conversion model is not fitted; call fit(logs) first.")
        self.model, self.catalog, self.population = model, catalog, population
        self.start_weekday = int(start_weekday)  # day of week of day 0 (0 = Monday), for the weekday feature
        self.table = None  # a ResponseTable once tabulate() is called

    @classmethod
    def from_saved(cls, path: str | Path, catalog: Catalog, population: ShopperPopulation,
                   start_weekday: int = 0) -> LearnedConversion:
        """Load the model saved at ``path`` (reads the file; nothing is loaded in ``__init__``)."""
        return cls(ConversionModel.load(path), catalog, population, start_weekday)

    def tabulate(self, max_rows: int | None = None) -> LearnedConversion:
        """Answer unseen, undiscounted impressions from per-context tables over every (shopper, item) from now on
        (``forecasters.conversion.response_table``): the same probabilities, a Recommend episode ~100x faster. The tables
        follow the model's calibration (``ConversionModel.calibration_key``): calibrating the same in-memory model
        later drops them. They do not follow its weights: after ``fine_tune`` of an uncalibrated model, call
        ``tabulate()`` again."""
        from forecasters.conversion.response_table import MAX_ROWS, ResponseTable

        encoder = getattr(self.model, "encoder_", None)
        if encoder is not None and "day" in [*encoder.numeric_, *encoder.categories_]:
            raise ValueError("this model reads the 'day' column, so its answers differ day by day; it cannot be tabulated.")
        self.table = ResponseTable(self._predict, self.population.n_shoppers, self.catalog.n_skus, self.start_weekday,
                                   MAX_ROWS if max_rows is None else max_rows, key=self.model.calibration_key)
        return self

    def probabilities(self, batch: ImpressionBatch) -> np.ndarray:
        """``(n, 3)``: p(click), p(cart | click), p(purchase | cart) as the model sees them."""
        if len(batch) == 0:
            return np.zeros((0, 3))
        return self._predict(batch) if self.table is None else self.table.probabilities(batch)

    def _predict(self, batch: ImpressionBatch) -> np.ndarray:
        """The model's answer for ``batch`` (one call), as ``probabilities`` returns it."""
        frame = pd.DataFrame(impression_features(batch, self.catalog, self.population, self.start_weekday))
        return joint_to_funnel(self.model.predict_proba(frame))

    def sample(self, batch: ImpressionBatch, rng: np.random.Generator) -> np.ndarray:
        """Nested bool outcomes ``(n, 3)``."""
        return nested_sample(self.probabilities(batch), rng)
