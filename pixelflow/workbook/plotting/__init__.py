"""Figures for the workbook's notebooks, one module per topic (matplotlib)."""
