"""Where ``from pixelflow import presets`` finds the presets: :mod:`pixelflow.workbook.presets`.

The presets belong to the workbook (they run its protocol); this module
only keeps the short import path working. Nothing in the library imports it.
"""

from pixelflow.workbook.presets import Preset, available, from_dict, get

__all__ = ["Preset", "available", "from_dict", "get"]
