"""The %session countdown: time left ticking every second, colours at 30/10/1 minutes, idle time.

Built on ipywidgets 8 and driven by a Ticker (a background thread: the kernel is never blocked);
tests drive it with a ManualTicker and an injected clock. The session's warnings and its expiry
show in the widget's message area; an error in a callback shows there too.
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from .. import units
from ..locale import tr
from ..session import WARN_AT, Session
from .guard import guarded, report
from .ticker import Ticker

TICK = 1.0  # seconds between refreshes
# (seconds left at or below which, colour, progress bar style); first match wins. The same
# thresholds as the session's warnings: 1, 10 and 30 minutes.
LEVELS = tuple(zip(sorted(WARN_AT), ("#b71c1c", "#e53935", "#fb8c00"), ("danger", "danger", "warning")))
CALM = ("#43a047", "success")
EXTEND_BY = 3600.0  # seconds the button adds


def level(left: float | None) -> tuple[str, str]:
    """(colour, bar style) for seconds left: green, orange at 30 min, red at 10 min and below."""
    if left is None:
        return CALM
    for limit, colour, style in LEVELS:
        if left <= limit:
            return colour, style
    return CALM


class SessionView:
    """The widget (`.widget`) over a Session. refresh(now) is all the logic; the ticker calls it."""

    def __init__(self, session: Session, *, ticker=Ticker, interval: float = TICK):
        self.session = session
        self.countdown = widgets.HTML()
        self.bar = widgets.FloatProgress(min=0.0, max=1.0, layout=widgets.Layout(width="260px", margin="0 12px"))
        self.details = widgets.HTML()
        self.extend_button = widgets.Button(description=tr("Extend 1 h"), icon="clock",
                                            tooltip="%session --extend 1h",  # untranslated: the magic line (code)
                                            layout=widgets.Layout(width="120px"))
        self.messages = widgets.Output(layout=widgets.Layout(max_height="8em", overflow="auto"))
        self.widget = widgets.VBox([
            widgets.HBox([self.countdown, self.bar, self.extend_button],
                         layout=widgets.Layout(align_items="center")),
            self.details, self.messages,
        ], layout=widgets.Layout(padding="4px 0"))
        self.widget.add_class("colabmagic-session")
        self.extend_button.on_click(guarded(self.messages, self._extend))
        self._remove_listener = session.add_listener(self._event)
        self._ticker = ticker(interval, self._tick, name="colabmagic-session-view")
        self.refresh()
        self._ticker.start()

    @property
    def running(self) -> bool:
        return self._ticker.running

    def refresh(self, now: float | None = None) -> None:
        shown = self.session.countdown(now)
        colour, style = level(shown.left)
        with self.widget.hold_sync():
            self.countdown.value = (f'<span style="font:600 20px/1.2 monospace;color:{colour}">{shown.clock}</span>'
                                    f'<span style="margin-left:8px;opacity:.75">{escape(shown.note)}</span>')
            self.bar.value = shown.fraction
            self.bar.bar_style = style
            self.bar.description = ""
            details = escape(tr("running {elapsed} · idle {idle} · at the limit: {action}")).format(
                elapsed=units.duration(shown.elapsed), idle=units.duration(shown.idle),
                action=f"<b>{escape(shown.on_expire)}</b>")  # in bold, wherever the sentence puts it
            self.details.value = f'<span style="opacity:.75">{details}</span>'
            self.extend_button.disabled = shown.left is None

    def close(self) -> None:
        self._ticker.stop()
        self._remove_listener()
        self.widget.close()

    def _tick(self):
        try:
            self.refresh()
        except Exception as err:
            report(self.messages, err)
            return False  # one error shown, not one a second
        return None

    def _extend(self, _button=None) -> None:
        left = self.session.extend(EXTEND_BY)
        self.messages.append_stdout(tr("Extended by 1h: {left} left").format(left=units.clock(left)) + "\n")
        self.refresh()

    def _event(self, event) -> None:
        append = self.messages.append_stderr if event.kind != "warning" else self.messages.append_stdout
        append(event.message + "\n")
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
