"""A pool of persistent states for training rules that must keep a pattern alive.

Each iteration draws a batch from the pool, replaces the member with the
highest recorded loss by a fresh start state (so the rule keeps learning to
grow from scratch), runs the rule and writes the results back. Later batches
then start from states the rule itself produced, which teaches it to keep a
pattern stable for far longer than the steps of one iteration.
"""

from __future__ import annotations

import torch


class SamplePool:
    """Persistent training states with their last losses.

    Parameters
    ----------
    start : Tensor, shape (size, C, H, W)
        The initial pool (usually ``size`` copies of the seed state).

    Attributes
    ----------
    states : Tensor
    losses : Tensor, shape (size,)
        Loss of each state when it was last written back; ``inf`` for states
        not trained on yet.
    """

    def __init__(self, start: torch.Tensor):
        if start.ndim != 4 or len(start) < 1:
            raise ValueError(f"start must have shape (size, C, H, W) with size >= 1, got {tuple(start.shape)}")
        self.states = start.detach().clone()
        self.losses = torch.full((len(start),), float("inf"))

    def __len__(self) -> int:
        return len(self.states)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and copies of ``batch_size`` distinct pool states, highest recorded loss first."""
        if not (1 <= batch_size <= len(self)):
            raise ValueError(f"batch_size must lie in 1..{len(self)} (the pool size), got {batch_size!r}")
        idx = torch.randperm(len(self), generator=generator)[:batch_size]
        # Stable sort so ties (e.g. several untouched states) keep the random order.
        order = torch.sort(self.losses[idx], descending=True, stable=True).indices
        idx = idx[order]
        return idx, self.states[idx].clone()

    def commit(self, idx: torch.Tensor, states: torch.Tensor, losses: torch.Tensor) -> None:
        """Write the batch's final states and per-sample losses back."""
        self.states[idx] = states.detach()
        self.losses[idx] = losses.detach().to(self.losses.dtype)

    def state_dict(self) -> dict:
        return {"states": self.states.clone(), "losses": self.losses.clone()}

    def load_state_dict(self, state: dict) -> None:
        if state["states"].shape != self.states.shape:
            raise ValueError(f"pool checkpoint holds shape {tuple(state['states'].shape)}, "
                             f"this pool {tuple(self.states.shape)}")
        self.states = state["states"].clone()
        self.losses = state["losses"].clone()
