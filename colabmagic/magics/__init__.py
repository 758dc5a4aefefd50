"""The magics' declarations. Each module holds one Magics class for one capability.

Importing this package must stay cheap (a test and a benchmark watch it): the magic modules
import only IPython and the standard library at module level, and reach into the core on first use.
"""

from __future__ import annotations

import importlib

# module name -> Magics class name; one capability per module
MAGIC_CLASSES = {
    "gpu_info": "GpuInfoMagics",
    "runtime": "RuntimeMagics",
    "session": "SessionMagics",
    "resources": "ResourcesMagics",
    "drive": "DriveMagics",
    "timeit_gpu": "TimeitGpuMagics",
    "train": "TrainMagics",
    "tensorboard": "TensorBoardMagics",
    "secrets": "SecretsMagics",
    "kaggle": "KaggleMagics",
}


def _magics_classes():
    for module_name, class_name in MAGIC_CLASSES.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        yield getattr(module, class_name)


def register(shell) -> None:
    for cls in _magics_classes():
        shell.register_magics(cls)


def unregister(shell) -> None:
    """Remove exactly the magics we registered (IPython has no public API for this)."""
    manager = shell.magics_manager
    for cls in _magics_classes():
        for kind, names in cls.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
        manager.registry.pop(cls.__name__, None)
