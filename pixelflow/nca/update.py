"""How a cell changes given what it perceived: the update half of a neural CA."""

from __future__ import annotations

from torch import nn

from pixelflow.checks import check_int


class CellUpdate(nn.Module):
    """A per-cell MLP written as 1×1 convolutions, returning the state increment.

    The last layer starts at zero (weights and bias), so an untrained rule
    leaves every state unchanged and training starts from the identity map —
    the initialisation that keeps long rollouts stable early in training.

    Parameters
    ----------
    in_channels : int
        Perception channels.
    channels : int
        State channels (the increment's width).
    hidden : int
        Width of the hidden layers.
    hidden_layers : int
        Number of hidden ReLU layers (at least 1).
    """

    def __init__(self, in_channels: int, channels: int, hidden: int = 96, hidden_layers: int = 1):
        super().__init__()
        check_int(in_channels, "in_channels", low=1)
        check_int(channels, "channels", low=1)
        check_int(hidden, "hidden", low=1)
        check_int(hidden_layers, "hidden_layers", low=1)
        layers, width = [], in_channels
        for _ in range(hidden_layers):
            layers += [nn.Conv2d(width, hidden, 1), nn.ReLU()]
            width = hidden
        last = nn.Conv2d(width, channels, 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, perception):
        return self.net(perception)
