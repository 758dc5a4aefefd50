"""TensorBoard in notebooks: `%tensorboard_inline`'s core, plain Python (never imports IPython).

- manager.py: TensorBoard processes — start / reuse (only after it answers) / list / stop, typed
  outcomes, the registry of instances, the process that ends with its kernel;
- proxy.py:   whether the Jupyter server that shows this kernel proxies TensorBoard;
- scalars.py: the static view — event files read with TensorBoard's own reader, drawn with %train's chart;
- views.py:   what a notebook shows for an instance (frame, --list, --stop).
"""

from ..jupyter_servers import JupyterServer, find_server, running_servers
from .manager import (DEFAULT_LOGDIR, HOST, Instance, StartFailed, StartLaunched, StartReused, StartTimedOut,
                      answers, instances, resolve_logdir, start, state_dir, stop)
from .proxy import ProxyFinder, proxy_available
from .scalars import ScalarBoard, ScalarReader, ScalarRun, ScalarWatcher, metric_name, read_scalars
from .views import InstanceList, Stopped, TensorBoardFrame

__all__ = ["DEFAULT_LOGDIR", "HOST", "Instance", "InstanceList", "JupyterServer", "ProxyFinder", "ScalarBoard",
           "ScalarReader", "ScalarRun", "ScalarWatcher", "StartFailed", "StartLaunched", "StartReused",
           "StartTimedOut", "Stopped", "TensorBoardFrame", "answers", "find_server", "instances", "metric_name",
           "proxy_available", "read_scalars", "resolve_logdir", "running_servers", "start", "state_dir", "stop"]
