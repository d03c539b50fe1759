"""Numeric hyperparameters read from YAML files and the command line, parsed one way for every algo.

PyYAML follows YAML 1.1, which reads a number in exponent notation only with a dot and a signed exponent
(``1.0e+4``); ``1e4`` and ``1e-3``, what people write, come back as TEXT. ``number`` reads that text as the
number it means and refuses everything else that is not a finite number (quoted numbers, ``true``, lists,
``.nan``, ``2.5`` where a count is wanted) with one ``HyperparameterError`` line naming the key, the value,
where it came from and the fix (``shopgym train`` prints it as ``error: ...``, no traceback).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from shopgym.errors import HyperparameterError

#: Text PyYAML reads for a number in exponent notation without a dot (``1e4``, ``1e-3``; YAML 1.1 wants ``1.0e+4``).
EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_NO_DEFAULT = object()


def number(key: str, value: Any, kind: type, where: str, default: Any = _NO_DEFAULT, owner: str = "") -> int | float:
    """``value`` of hyperparameter ``key`` as a finite ``int`` or ``float`` (``kind``).

    Text is read as a number only in exponent notation (``1e4``, ``1e-3``); a whole float (``1.0e+4``, ``1e4``)
    passes as an ``int``. Anything else (text, ``bool``, ``None``, a list, a non-finite number, a non-whole one
    for an ``int``) raises ``HyperparameterError``: ``"<owner>KEY=VALUE in WHERE is str; write a whole number
    without quotes (the default is KEY: DEFAULT)."``. ``where`` names the source (a file's section, the command
    line); ``default`` (shown in the fix when given) and ``owner`` (a prefix such as ``"SlateQ "``) are optional.
    """
    what = "a whole number" if kind is int else "a number"
    hint = "" if default is _NO_DEFAULT else f" (the default is {key}: {default})"
    if isinstance(value, str) and EXPONENT.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise HyperparameterError(f"{owner}{key}={value!r} in {where} is {type(value).__name__}; write {what} "
                                  f"without quotes{hint}.")
    if not math.isfinite(value) or (kind is int and value != int(value)):
        why = "is not finite" if not math.isfinite(value) else "is not whole"
        raise HyperparameterError(f"{owner}{key}={value!r} in {where} {why}; write {what}{hint}.")
    return int(value) if kind is int else float(value)


def step_count(key: str, value: Any, where: str, unit: str = "env step", default: Any = _NO_DEFAULT,
               owner: str = "") -> int:
    """A length of training (``n_timesteps``, ``--timesteps``) as an ``int`` >= 1, in ``unit`` (env steps,
    sessions): ``number`` then the range, ``HyperparameterError`` ``"KEY 0 in WHERE: train for at least one
    env step."`` below it."""
    n = number(key, value, int, where, default, owner)
    if n < 1:
        raise HyperparameterError(f"{owner}{key} {n} in {where}: train for at least one {unit}.")
    return n


def train_steps(n_timesteps: Any, timesteps: Any, where: str, default: int) -> int:
    """The env steps a run trains for: ``timesteps`` (``shopgym train --timesteps``) when not ``None``, else the
    section's ``n_timesteps`` (pass ``default`` when the section has none). The section's value is checked even
    when ``--timesteps`` wins, so a bad file is refused at once, not on the first run without the flag."""
    n = step_count("n_timesteps", n_timesteps, where, default=default)
    if timesteps is not None:
        n = step_count("--timesteps", timesteps, "the command line", default=default)
    return n


def positive_count(key: str, value: Any, where: str, default: Any = _NO_DEFAULT) -> int:
    """A whole setting that must be at least 1 (``n_envs``, ``eval_freq``, ``checkpoint_freq``,
    ``n_eval_episodes``): ``number`` then the range, ``HyperparameterError`` naming the key and the fix."""
    n = number(key, value, int, where, default)
    if n < 1:
        raise HyperparameterError(f"{key}={n} in {where} must be at least 1.")
    return n


def exponent_text_as_numbers(section: dict[str, Any]) -> dict[str, Any]:
    """``section`` with every value written in exponent notation as text (``1e-3``: PyYAML reads ``1e-3`` as a
    string, not a number) read as the ``float`` it means; other values as they are (``lin_0.0003`` stays text)."""
    return {k: float(v) if isinstance(v, str) and EXPONENT.fullmatch(v.strip()) else v for k, v in section.items()}
