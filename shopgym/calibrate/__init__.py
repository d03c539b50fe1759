"""Calibration of shopgym's worlds on real data: shopper funnel ratios from interaction logs, daily arrivals from
transaction counts, demand from sales, and the fidelity of the result (each in its own module)."""
