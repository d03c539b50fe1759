"""The ``shopgym`` command."""
