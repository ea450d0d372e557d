"""Bulk issuing runs: "issue to all eligible" as one record the progress bar reads and a
worker can resume after a crash (issue 6). The work itself is app/certificates/runs.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Model
from app.core.types import UTCDateTime, enum_column, utcnow
from app.states import ISSUE_RUN_MACHINE, IssueRunStatus

# At most one run per event is queued or running: two would race for the same registrations.
_UNFINISHED_ROW = "status IN ('queued', 'running')"
UNFINISHED = (IssueRunStatus.QUEUED, IssueRunStatus.RUNNING)


class CertificateIssueRun(Model):
    """One "issue to all eligible" of one event: its counters and where it got to.

    `cursor_registration_id` is the last registration the run has handled, committed with the
    batch that handled it: a resumed run starts after it, so it never counts or issues twice.
    """

    __tablename__ = "certificate_issue_runs"
    __table_args__ = (
        sa.Index(
            "uq_certificate_issue_runs_one_unfinished",
            "event_id",
            unique=True,
            sqlite_where=sa.text(_UNFINISHED_ROW),
            postgresql_where=sa.text(_UNFINISHED_ROW),
        ),
    )

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[IssueRunStatus] = mapped_column(
        enum_column(IssueRunStatus), default=IssueRunStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)  # eligible without a certificate at the start
    issued: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)  # got a certificate or a decline meanwhile
    failed: Mapped[int] = mapped_column(default=0)  # refused (no longer eligible...)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    cursor_registration_id: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event = relationship("Event")
    started_by = relationship("User")

    def __init__(self, **fields):
        fields.setdefault("status", IssueRunStatus.QUEUED)
        super().__init__(**fields)

    def __str__(self) -> str:
        return f"{self.status.value} · {self.done}/{self.total}"

    @property
    def done(self) -> int:
        return self.issued + self.skipped + self.failed

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED

    def start(self) -> None:
        """QUEUED → RUNNING; a resumed run is RUNNING already and stays so."""
        if ISSUE_RUN_MACHINE.may(self, "start"):
            ISSUE_RUN_MACHINE.fire(self, "start")
            self.started_at = utcnow()

    def finish(self) -> None:
        ISSUE_RUN_MACHINE.fire(self, "finish")
        self.finished_at = utcnow()

    def fail(self, error: str) -> None:
        ISSUE_RUN_MACHINE.fire(self, "fail")
        self.error = error
        self.finished_at = utcnow()
