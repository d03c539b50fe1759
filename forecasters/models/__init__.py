"""Forecasting models, one per module (classical in this package, neural ones in ``forecasters.neural``)."""
