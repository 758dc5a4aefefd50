"""colabmagic: make any local Jupyter feel like Google Colab.

`%load_ext colabmagic` registers the magics. Nothing heavy is imported here or by the magics'
declarations: torch, tensorboard, NVML and the widgets load on a magic's first use.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython):
    from .magics import unregister

    unregister(ipython)
