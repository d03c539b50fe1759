"""Progressive layered extraction (Tang et al., RecSys 2020): task-specific and shared experts, stacked.

Each extraction level holds ``n_task_experts`` experts per task and ``n_shared_experts`` shared
ones. Task ``k``'s gate mixes its own and the shared experts; the shared gate (all levels but the
last) mixes all experts. Level ``l`` uses layer ``hidden[l]`` for its experts.
"""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import tower


def _experts(n_in: int, width: int, count: int) -> nn.ModuleList:
    return nn.ModuleList(nn.Sequential(nn.Linear(n_in, width), nn.ReLU()) for _ in range(count))


class _Level(nn.Module):
    def __init__(self, n_in: int, width: int, n_tasks: int, n_task: int, n_shared: int, last: bool):
        super().__init__()
        self.task_experts = nn.ModuleList(_experts(n_in, width, n_task) for _ in range(n_tasks))
        self.shared_experts = _experts(n_in, width, n_shared)
        self.task_gates = nn.ModuleList(nn.Linear(n_in, n_task + n_shared) for _ in range(n_tasks))
        self.shared_gate = None if last else nn.Linear(n_in, n_tasks * n_task + n_shared)

    def forward(self, task_inputs: list[torch.Tensor], shared_input: torch.Tensor):
        shared = [e(shared_input) for e in self.shared_experts]
        own = [[e(x) for e in experts] for experts, x in zip(self.task_experts, task_inputs, strict=True)]
        outs = []
        for k, gate in enumerate(self.task_gates):
            e = torch.stack(own[k] + shared, dim=1)
            g = torch.softmax(gate(task_inputs[k]), dim=1).unsqueeze(2)
            outs.append((g * e).sum(1))
        shared_out = shared_input
        if self.shared_gate is not None:
            e = torch.stack([x for group in own for x in group] + shared, dim=1)
            g = torch.softmax(self.shared_gate(shared_input), dim=1).unsqueeze(2)
            shared_out = (g * e).sum(1)
        return outs, shared_out


class _PLENet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, hidden, tower_hidden, n_task: int, n_shared: int):
        super().__init__()
        widths = list(hidden)
        self.levels = nn.ModuleList(
            _Level(n_inputs if i == 0 else widths[i - 1], w, n_tasks, n_task, n_shared, last=i == len(widths) - 1)
            for i, w in enumerate(widths)
        )
        self.towers = nn.ModuleList(tower(widths[-1], tower_hidden) for _ in range(n_tasks))
        self.n_tasks = n_tasks

    def shared_parameters(self):
        return [p for lv in self.levels for p in lv.shared_experts.parameters()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        task_inputs, shared = [x] * self.n_tasks, x
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared)
        return torch.sigmoid(torch.cat([t(h) for t, h in zip(self.towers, task_inputs, strict=True)], dim=1))


class PLE(ConversionModel):
    """PLE with ``len(hidden)`` extraction levels, ``n_task_experts`` per task and ``n_shared_experts`` shared."""

    name = "ple"
    extra_params = ("n_task_experts", "n_shared_experts")

    def __init__(self, n_task_experts: int = 1, n_shared_experts: int = 2, **kwargs):
        super().__init__(**kwargs)
        for label, v in (("n_task_experts", n_task_experts), ("n_shared_experts", n_shared_experts)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{label} must be a positive integer, got {v!r}.")
        if not self.hidden:
            raise ValueError("PLE needs at least one level: hidden must not be empty.")
        self.n_task_experts, self.n_shared_experts = n_task_experts, n_shared_experts

    def _build(self, n_inputs: int) -> nn.Module:
        return _PLENet(n_inputs, len(self.tasks), self.hidden, self.tower_hidden, self.n_task_experts, self.n_shared_experts)
