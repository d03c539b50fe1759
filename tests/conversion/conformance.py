"""The one conformance check every conversion model must pass (cf. neuralforecast's ``check_model``)."""

from __future__ import annotations

import numpy as np

from forecasters.conversion.base import ConversionModel

FAST = {"hidden": (8,), "tower_hidden": (4,), "epochs": 2, "batch_size": 256}


def check_model(cls: type[ConversionModel], logs, tmp_path, **kwargs) -> None:
    """Shapes, probabilities in [0, 1], fit returns self, save/load identical, same seed same model."""
    kw = {**FAST, **kwargs}
    model = cls(**kw)
    if hasattr(model, "network_"):
        raise AssertionError("the constructor must not fit anything")
    fitted = model.fit(logs)
    assert fitted is model, "fit must return self"
    p = model.predict_proba(logs)
    assert p.shape == (len(logs), len(model.tasks))
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert len(model.history_) == kw["epochs"]
    path = model.save(tmp_path / f"{cls.name}.pt")
    loaded = ConversionModel.load(path)
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(logs), p)
    again = cls(**kw).fit(logs)
    np.testing.assert_array_equal(again.predict_proba(logs), p)
    other = cls(**{**kw, "seed": kw.get("seed", 0) + 1}).fit(logs)
    assert not np.array_equal(other.predict_proba(logs), p), "a different seed should give a different model"
