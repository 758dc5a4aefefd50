"""Google Colab's public API (`google.colab`) over colabmagic's cores, for notebooks brought from Colab.

`%colab_compat on` rewrites `google.colab` in the user's cells to this package (compat.py,
rewrite.py); no module named `google.colab` is ever installed, since TensorBoard, kagglehub,
huggingface_hub and tqdm take one as "running in Colab" and call Colab-only browser APIs.
The submodules load on first use: `colabmagic.colab.drive` after `import colabmagic.colab` works as
`google.colab.drive` does after `import google.colab`.
"""

from __future__ import annotations

import importlib

# Colab's public modules that exist here (sheets and auth say what to do instead)
MODULES = ("auth", "data_table", "drive", "files", "output", "patches", "runtime", "sheets", "userdata")


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *MODULES})
