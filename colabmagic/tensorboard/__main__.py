"""The TensorBoard process colabmagic starts: `python -m colabmagic.tensorboard --owner PID -- ARGS`."""

import sys

from .manager import serve

serve(sys.argv[1:])
