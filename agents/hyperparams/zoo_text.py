"""RL Zoo's Python-expression values, read as data: ``policy_kwargs: "dict(net_arch=[64], activation_fn=nn.Tanh)"``.

RL Zoo 3 ``eval``s a ``policy_kwargs`` string, which is the only way a YAML file can name an activation
class for it. Our files use that notation so that RL Zoo reads them unchanged; we read the same text
with ``ast`` instead, accepting only ``dict(key=value, ...)`` (nested ``dict(...)`` allowed), Python
literals, and ``nn.<Activation>`` for the activations of ``ACTIVATIONS``. Anything else (a call, a
name, an attribute of another module) is a ``HyperparameterError``: nothing in the text is executed.
An activation comes back as its short name (``nn.Tanh`` -> ``"tanh"``), the form the rest of
shopgym stores in ``config.yml`` and turns into a class in ``agents.sb3``.
"""

from __future__ import annotations

import ast
from typing import Any

from shopgym.errors import HyperparameterError

#: Short activation names (as stored in resolved configs) -> class names in ``torch.nn``.
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU", "silu": "SiLU"}
_BY_CLASS = {cls: short for short, cls in ACTIVATIONS.items()}


def parse_kwargs_text(text: str, key: str, where: str) -> dict[str, Any]:
    """The mapping written as ``text`` (``"dict(a=1, activation_fn=nn.Tanh)"`` or ``"{'a': 1}"``), never evaluated.

    ``key`` (``policy_kwargs``, ...) and ``where`` (section and file) name the value in error messages.
    """
    where = f"{key}={text!r} in {where}"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise HyperparameterError(f"{where} is not a Python expression RL Zoo could read: {e.msg}. "
                                  "Write a mapping, or text like \"dict(net_arch=[64, 64], activation_fn=nn.Tanh)\".") from e
    try:
        value = _value(tree.body, where)
    except TypeError as e:  # an unhashable key, such as {[1]: 2}
        raise HyperparameterError(f"{where}: {e}; keys must be names, strings or numbers.") from e
    if not isinstance(value, dict):
        raise HyperparameterError(f"{where} must be a mapping: write \"dict(key=value, ...)\" or a YAML mapping.")
    return value


def _value(node: ast.expr, where: str) -> Any:
    """The data ``node`` spells: ``dict(...)`` calls, literals and ``nn.<Activation>`` (as its short name)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            raise HyperparameterError(f"{where}: '**' is not supported; spell out each key.")
        return {kw.arg: _value(kw.value, where) for kw in node.keywords}
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_value(k, where): _value(v, where) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(e, where) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nn":
        if node.attr not in _BY_CLASS:
            raise HyperparameterError(f"{where}: nn.{node.attr} is not an activation shopgym knows; "
                                      f"choose one of {', '.join('nn.' + c for c in _BY_CLASS)}.")
        return _BY_CLASS[node.attr]
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise HyperparameterError(
            f"{where}: {ast.unparse(node)!r} is neither a literal nor an nn.<Activation>; only "
            "dict(...), literals and activations are read (the text is parsed, never run)."
        ) from None

