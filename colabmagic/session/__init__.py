"""The session: Colab's limit on a runtime's life, for a local kernel. Plain Python (never imports IPython).

- state.py:      SessionState, the record in the state file, and its rules (limit, extend, time
                 left, expiry, on_expire): the kernel's clock and the server extension follow them alike;
- clock.py:      Session, one kernel's clock (injectable time): warnings, expiry, activity;
- events.py:     what it tells (warnings, the expiry notice) and the hooks and listeners that hear it;
- state_file.py: the kernel's side of the state file (a server's change taken in, never written over);
- timer.py:      the background thread that calls the clock when something is due;
- kernel.py:     this kernel's process: its id, its start, and how a `shutdown` session ends it;
- wiring.py:     this kernel's one session (current/start/end/apply) and IPython's cell events;
- countdown.py:  what the session shows at one moment (%session and its widget).

current/start/apply and Session.state() are also what the server extension's silent executes
call in a kernel, which may run another colabmagic version: their names and arguments stay.
"""

from .clock import Session
from .countdown import WARN_AT, Countdown
from .events import SessionEvent
from .kernel import this_kernel_id
from .state import (ACTIONS, DEFAULT_LIMIT, SHUTDOWN_GRACE, SessionState, checked_action, parse_limit,
                    read_state, state_lock, state_path, write_state)
from .wiring import apply, current, end, start, wire_cell_events

__all__ = ["ACTIONS", "Countdown", "DEFAULT_LIMIT", "SHUTDOWN_GRACE", "Session", "SessionEvent", "SessionState",
           "WARN_AT", "apply", "checked_action", "current", "end", "parse_limit", "read_state",
           "start", "state_lock", "state_path", "this_kernel_id", "wire_cell_events", "write_state"]
