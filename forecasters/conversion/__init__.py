"""Multi-task conversion models (click, add-to-cart, purchase) trained on interaction logs.

Models share one contract (``ConversionModel``): ``fit(logs)`` returns self, ``predict_proba(logs)``
gives one column per task, ``save``/``load``. ``MODELS`` maps names to classes.
"""

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.registry import MODELS, load_model, make_model, model_class

__all__ = ["MODELS", "ConversionModel", "load_model", "make_model", "model_class"]
