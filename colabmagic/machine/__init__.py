"""This machine: NVIDIA GPUs (NVML), torch accelerators, CPU, RAM, swap and disks, plain Python.

Layered as nvitop's api/ is, each module over the ones before it:
- nvml.py:          the bindings shim: NVML started once, every call through one wrapper (None: N/A);
- gpus.py, gpu_processes.py: the GPUs, their MIG slices and the processes using them;
- cpu.py:           the CPU's model and the one sampler of CPU use (also %train's free cores);
- host.py, accelerators.py: RAM, swap, load and disks; MPS/XPU devices of an imported torch;
- snapshots.py:     all of it in one reading (`snapshot`, `watch`);
- table.py:         a reading as %gpu_info's text and HTML;
- monitor.py:       the %resources monitor's bars and readings.
Importing it loads neither psutil nor pynvml nor torch: they load on the first reading.
"""

from .accelerators import Accelerator
from .cpu import CpuSampler, cpu_static
from .gpu_processes import GpuProcess
from .gpus import GpuInfo, MigDevice, read_gpus
from .host import Disk, HostInfo, memory_total
from .nvml import shutdown
from .snapshots import Snapshot, snapshot, watch

__all__ = ["Accelerator", "CpuSampler", "Disk", "GpuInfo", "GpuProcess", "HostInfo", "MigDevice", "Snapshot",
           "cpu_static", "memory_total", "read_gpus", "shutdown", "snapshot", "watch"]
