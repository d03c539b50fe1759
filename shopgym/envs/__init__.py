"""Thin Gymnasium adapters over the world. Registered in ``shopgym/__init__.py``."""
