"""The map of how areas talk: every signal and its receivers, written out. A new signal or
receiver is added here (and to ARCHITECTURE.md) on purpose, never by an import."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

from blinker import ANY

from app import AREAS, create_app
from tests.conftest import base_config

# signal (area.name) -> its receivers (module.qualname)
SIGNAL_MAP = {
    "events.event_created": {
        "app.registrations.reminders.ReminderService.add_defaults",
        "app.organizations.services.record_event_created",
    },
    "events.event_start_moved": {"app.registrations.reminders.ReminderService.move_pending"},
    "events.event_schedule_changed": {"app.zoom.meetings.meetings_changed"},
    "events.event_published": {"app.zoom.meetings.meetings_published"},
    "events.event_cancelled": {"app.zoom.meetings.meetings_changed"},
    "events.attendance_threshold_changed": {
        "app.zoom.attendance.recompute_for_new_threshold",
    },
    "events.event_closing": {
        "app.certificates.services.refuse_closing_with_pending_certificates",
    },
    "events.event_deleting": {"app.registrations.models.refuse_deleting_with_registrations"},
    "events.capacity_changing": {"app.registrations.services.refuse_capacity_below_seats"},
    "events.capacity_changed": {"app.registrations.services.fill_freed_seats"},
    "registrations.seats_changed": {"app.zoom.meetings.registrants_changed"},
}

ROOT = Path(__file__).resolve().parents[2]


def all_signals() -> dict:
    """Every signal every area declares in its signals.py, by "area.name"."""
    found = {}
    for area in AREAS:
        try:
            module = importlib.import_module(f"app.{area}.signals")
        except ModuleNotFoundError:
            continue
        for name, signal in getattr(module, "namespace", {}).items():
            found[f"{area}.{name}"] = signal
    return found


def receiver_names(signal) -> list[str]:
    return sorted(f"{r.__module__}.{r.__qualname__}" for r in signal.receivers_for(ANY))


def current_map() -> dict[str, list[str]]:
    return {key: receiver_names(signal) for key, signal in all_signals().items()}


EXPECTED = {key: sorted(names) for key, names in SIGNAL_MAP.items()}


def test_every_signal_has_exactly_the_receivers_of_the_map(app):
    assert current_map() == EXPECTED


def test_create_app_makes_the_connections_and_making_another_app_adds_none(tmp_path):
    """The receivers' modules are imported already: only create_app can connect them again."""
    signals = all_signals()
    for signal in signals.values():
        for receiver in list(signal.receivers_for(ANY)):
            signal.disconnect(receiver)
    try:
        assert all(not receiver_names(s) for s in signals.values())
        config = base_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
        create_app(config)
        assert current_map() == EXPECTED
        create_app(config)
        assert current_map() == EXPECTED
        assert all(len(s.receivers) == len(EXPECTED[k]) for k, s in signals.items())
    finally:
        from app import register_signals

        register_signals(None)


def test_importing_every_module_connects_nothing():
    """No wiring by import side effect: a process that imports the whole app package (but
    builds no app) has no receiver on any signal."""
    script = (
        "import importlib, pkgutil, app\n"
        "from blinker import ANY\n"
        "for info in pkgutil.walk_packages(app.__path__, 'app.'):\n"
        "    importlib.import_module(info.name)\n"
        "from tests.core.test_signals import all_signals\n"
        "wired = {k: list(s.receivers_for(ANY)) for k, s in all_signals().items()}\n"
        f"assert len(wired) == {len(SIGNAL_MAP)}, sorted(wired)\n"
        "assert not any(wired.values()), wired\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# --- ARCHITECTURE.md says the same


def machine_tables() -> str:
    """The state-machine section of ARCHITECTURE.md, rendered from app/states.py."""
    from app import states

    parts = []
    for name in sorted(dir(states)):
        machine = getattr(states, name)
        if not isinstance(machine, states.StateMachine):
            continue
        lines = [
            f"### {machine.noun.capitalize()} — `{name}` ({machine.states.__name__}, "
            f"column `{machine.attribute}`)",
            "",
            "| trigger | from | to | guard |",
            "|---|---|---|---|",
        ]
        for move in machine.transitions:
            sources = move["source"] if isinstance(move["source"], list) else [move["source"]]
            guard = f"`{move['conditions']}`" if move.get("conditions") else ""
            lines.append(f"| `{move['trigger']}` | {', '.join(s.value for s in sources)} | "
                         f"{move['dest'].value} | {guard} |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def architecture() -> str:
    return (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_architecture_lists_every_signal_with_its_receivers():
    """The signal table's rows are those whose first cell is `area.signal_name`."""
    signal_rows = {
        match.group(1): line
        for line in architecture().splitlines()
        if (match := re.match(r"\| `(\w+\.\w+)` \|", line))
    }
    assert sorted(signal_rows) == sorted(SIGNAL_MAP)
    for key, receivers in SIGNAL_MAP.items():
        for receiver in receivers:
            assert f"`{receiver.removeprefix('app.')}`" in signal_rows[key], (key, receiver)


def test_architecture_shows_every_state_machine_as_the_code_defines_it():
    assert machine_tables() in architecture()
