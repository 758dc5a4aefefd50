"""colabmagic: make any local Jupyter feel like Google Colab.

`%load_ext colabmagic` registers the magics. Nothing heavy is imported here: torch,
tensorboard and the widgets load on first use.
"""

__version__ = "0.1.0"
