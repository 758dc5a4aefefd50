"""Notebook views over the core: the %runtime panel, the %session countdown, the %resources
monitor (ipywidgets 8). (The %gpu_info table, text and HTML, is colabmagic/machine/table.py.)

Importing this package imports nothing: each view module loads ipywidgets itself, on first use.
"""
