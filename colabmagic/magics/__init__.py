"""The magics' declarations. Each module holds one Magics class for one capability.

`%load_ext colabmagic` must stay cheap (a test and a benchmark watch it). Where IPython can declare
a magic lazily (IPython 9's `register_lazy(name, "module:Class")`, as it does for its own magics),
load_ext only declares the names in MAGICS: a magic's module is imported, and its argument parser
built, the first time that magic is used or its help is asked for. Older IPythons register every
class at once; the magic modules then import only IPython and the standard library at module level.
"""

from __future__ import annotations

import importlib
import sys

# module name -> (Magics class name, the magics it defines by kind); one capability per module.
# The names let load_ext declare a magic without importing its module (a test checks them).
MAGICS = {
    "gpu_info": ("GpuInfoMagics", {"line": ("gpu_info",)}),
    "runtime": ("RuntimeMagics", {"line": ("runtime",)}),
    "session": ("SessionMagics", {"line": ("session",)}),
    "resources": ("ResourcesMagics", {"line": ("resources",)}),
    "drive": ("DriveMagics", {"line": ("drive_get", "mount_drive", "unmount_drive")}),
    "timeit_gpu": ("TimeitGpuMagics", {"cell": ("timeit_gpu",)}),
    "train": ("TrainMagics", {"line": ("train",)}),
    "tensorboard": ("TensorBoardMagics", {"line": ("tensorboard_inline",)}),
    "secrets": ("SecretsMagics", {"line": ("secrets",)}),
    "kaggle": ("KaggleMagics", {"line": ("kaggle_get",)}),
    "colab_compat": ("ColabCompatMagics", {"line": ("colab_compat",)}),
}
MAGIC_CLASSES = {module: class_name for module, (class_name, _) in MAGICS.items()}


def _magics_classes():
    for module_name, class_name in MAGIC_CLASSES.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        yield getattr(module, class_name)


def register(shell, lazy: bool | None = None) -> None:
    """Make every magic available; `lazy` (default: where IPython supports it) declares them only."""
    manager = shell.magics_manager
    if lazy is None:
        lazy = hasattr(manager, "load_all_lazy_magics")  # comes with the "module:Class" form
    for module_name, (class_name, names) in MAGICS.items():
        module = f"{__name__}.{module_name}"
        # An imported module costs nothing more to register; it is also how a second load_ext after
        # an unload works: IPython remembers a lazy spec it has loaded and would not load it again.
        if lazy and module not in sys.modules:
            for kind, magic_names in names.items():
                for name in magic_names:
                    manager.register_lazy(name, f"{module}:{class_name}", kind)
        else:
            shell.register_magics(getattr(importlib.import_module(module), class_name))


def unregister(shell) -> None:
    """Remove exactly the magics we declared or registered (IPython has no public API for this)."""
    manager = shell.magics_manager
    for module_name, (class_name, names) in MAGICS.items():
        spec = f"{__name__}.{module_name}:{class_name}"
        for kind, magic_names in names.items():
            for name in magic_names:
                manager.magics[kind].pop(name, None)
                if manager.lazy_magics.get(name) == spec:
                    manager.lazy_magics.pop(name)
        manager.registry.pop(class_name, None)
