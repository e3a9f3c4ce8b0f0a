"""Compatibility with the pixelflow-rc task modules (``pixelflow.tasks.synthetic``).

New code should use :mod:`pixelflow.datasets`.
"""
