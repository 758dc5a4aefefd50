"""Notebook views over the core: the %runtime panel, the %session countdown, the %resources
monitor (ipywidgets 8), and the %gpu_info table (plain text and HTML, snapshot_view.py).

Importing this package imports nothing: each view module loads ipywidgets itself, on first use.
"""
