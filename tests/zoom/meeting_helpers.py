"""A fake Zoom that records what it is asked and can be told to refuse, for the meeting and
registrant tests (app/zoom/meetings.py looks the API up through `zoom_api_for`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from app.zoom.client import FakeZoomApi, MeetingInfo, MeetingSpec, RegistrantInfo, ZoomError


@dataclass
class RecordingZoom(FakeZoomApi):
    """FakeZoomApi's answers, with every call kept in `calls` as (method, args...), and
    `refuse[method]` making the n-th and later calls of that method raise Zoom's message."""

    calls: list[tuple] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)

    def _check(self, method: str) -> None:
        count = sum(1 for call in self.calls if call[0] == method)
        if method in self.refuse and count >= self.refuse[method][0]:
            raise ZoomError(self.refuse[method][1], status=400)

    def of(self, method: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == method]

    def create_meeting(self, spec: MeetingSpec) -> MeetingInfo:
        self._check("create")
        info = super().create_meeting(spec)
        self.calls.append(("create", spec, info.meeting_id))
        return info

    def update_meeting(self, meeting_id: str, spec: MeetingSpec) -> None:
        self._check("update")
        self.calls.append(("update", meeting_id, spec))

    def delete_meeting(self, meeting_id: str) -> None:
        self._check("delete")
        self.calls.append(("delete", meeting_id))

    def add_registrant(self, meeting_id: str, *, email: str, first_name: str,
                       last_name: str) -> RegistrantInfo:
        self._check("add_registrant")
        info = super().add_registrant(meeting_id, email=email, first_name=first_name,
                                      last_name=last_name)
        self.calls.append(("add_registrant", meeting_id, email, first_name, last_name))
        return info

    def cancel_registrant(self, meeting_id: str, *, registrant_id: str, email: str) -> None:
        self._check("cancel_registrant")
        self.calls.append(("cancel_registrant", meeting_id, registrant_id, email))


@pytest.fixture
def zoom(monkeypatch) -> RecordingZoom:
    """The Zoom every meeting and registrant operation talks to, whoever the host is."""
    fake = RecordingZoom()
    hosts = []

    def api_for(user):
        hosts.append(getattr(user, "id", user))
        return fake

    monkeypatch.setattr("app.zoom.meetings.zoom_api_for", api_for)
    fake.hosts = hosts
    return fake
