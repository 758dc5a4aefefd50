"""colabmagic: make any local Jupyter feel like Google Colab.

`%load_ext colabmagic` registers the magics. Nothing heavy is imported here or by the magics'
declarations: torch, tensorboard, NVML and the widgets load on a magic's first use.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from .magics import register
    from .runtime import apply_saved

    register(ipython)
    # A device choice that waited for this kernel's restart takes effect now, before CUDA starts
    # (the runtime package imports only the standard library here).
    spec = apply_saved()
    if spec is not None:
        from .locale import tr

        print(tr("colabmagic: runtime {spec} applied (chosen before the kernel restarted)").format(spec=spec))
    from .colab.compat import turn_on_at_load

    turn_on_at_load(ipython)  # by the config, or for a notebook brought from Colab


def _jupyter_labextension_paths():
    """Where the built JupyterLab extension is (`jupyter labextension develop --overwrite .` links it)."""
    return [{"src": "labextension", "dest": "colabmagic"}]


def unload_ipython_extension(ipython):
    from .colab.compat import turn_off_at_unload
    from .magics import unregister

    turn_off_at_unload(ipython)
    unregister(ipython)
