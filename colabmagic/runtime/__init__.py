"""Which devices this kernel can use, and which one runs things when nobody says (%runtime).

- specs.py:         the one parser of device specs (`auto`, `cpu`, `cuda:N`, `gpu:0,1`, `mps`);
- cuda.py:          how CUDA sees the GPUs (CUDA_VISIBLE_DEVICES, MIG slices, whether CUDA started);
- state.py:         what this process knows and chose (one RuntimeState; tests install their own);
- discovery.py:     the devices (NVML for GPUs: never imports torch, never creates a CUDA context);
- metadata.py:      a selection in Colab's notebook keys, and a kernel's environment for it;
- restart.py:       a choice waiting for a kernel restart, the record the restarted kernel applies;
- selection.py:     select() / selected(), hiding the other GPUs;
- torch_devices.py: a spec as a torch.device (imports torch) and the one "not available" wording.
Importing it loads only the standard library: `%load_ext colabmagic` calls apply_saved().
"""

from .cuda import VISIBLE_ENV
from .discovery import Device, Runtime, devices, discover, gpus_for_new_processes
from .metadata import from_notebook_metadata, gpu_type, kernel_env, to_notebook_metadata
from .restart import RestartChoice, apply_saved, save_for_restart
from .selection import Selection, select, selected
from .specs import SPEC_HELP, DeviceSpec, is_selected, parse_spec
from .state import DEVICE_ENV, RuntimeState, current, install
from .torch_devices import cuda_missing, torch_device, unavailable

__all__ = ["DEVICE_ENV", "SPEC_HELP", "VISIBLE_ENV", "Device", "DeviceSpec", "RestartChoice", "Runtime",
           "RuntimeState", "Selection", "apply_saved", "cuda_missing", "current", "devices", "discover",
           "from_notebook_metadata", "gpu_type", "gpus_for_new_processes", "install", "is_selected", "kernel_env",
           "parse_spec", "save_for_restart", "select", "selected", "to_notebook_metadata", "torch_device",
           "unavailable"]
