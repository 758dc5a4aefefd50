"""units.py's durations: read as typed ('1h30m'), written the same way, and as a countdown's H:MM:SS."""

from __future__ import annotations

import pytest

from colabmagic import units
from colabmagic.errors import ConfigError


@pytest.mark.parametrize("text, seconds", [
    ("90m", 5400), ("2h", 7200), ("1h30m", 5400), ("45s", 45), ("1.5h", 5400), ("2h 15m", 8100),
    ("10min", 600), ("1h0m30s", 3630), (" 12H ", 43200), (600, 600), (0.5, 0.5),
])
def test_durations_as_typed(text, seconds):
    assert units.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["banana", "", "none", "90", "m", "1d", "-5m", "h30m1", "1h-", "0m", 0, "1e3m",
                                  True, "9" * 400 + "h", float("nan")])
def test_anything_else_is_one_line(text):
    with pytest.raises(ConfigError) as err:
        units.parse_duration(text)
    message = str(err.value)
    assert "\n" not in message and len(message) < 200 and message.endswith("use a duration like 90m, 2h or 1h30m")


def test_a_ceiling_and_a_hint_of_the_callers_own():
    assert units.parse_duration("8784h") == units.YEAR  # 366 days
    with pytest.raises(ConfigError, match="at most 366 days"):
        units.parse_duration("8785h")
    assert units.parse_duration("2h", most=7200) == 7200
    with pytest.raises(ConfigError, match=r"at most 1 days, not '25h': try 1h$"):
        units.parse_duration("25h", most=86400, hint="try 1h")


def test_durations_written():
    assert [units.duration(s) for s in (5400, 600, 45, 43200, 3661, 59.6, 0, -3)] == \
        ["1h30m", "10m", "45s", "12h", "1h1m", "1m", "0s", "0s"]
    assert [units.clock(s) for s in (43199, 3600, 59.9, 0, -3)] == ["11:59:59", "1:00:00", "0:00:59", "0:00:00", "0:00:00"]
