from datetime import timedelta

import pytest

from app import jobs
from tests.jobs import sample_jobs


@pytest.fixture(autouse=True)
def _reset_sample_jobs():
    sample_jobs.reset()
    yield
    sample_jobs.reset()


@pytest.fixture
def calls() -> list[tuple]:
    """What the sample jobs did, in order."""
    return sample_jobs.CALLS


@pytest.fixture
def sample_periodic(monkeypatch) -> dict[str, jobs.PeriodicTask]:
    """Only the sample periodic tasks are registered (hourly, and daily on "emails")."""
    registry = {
        jobs.job_path(sample_jobs.hourly): jobs.PeriodicTask(
            sample_jobs.hourly, timedelta(hours=1), "default"
        ),
        jobs.job_path(sample_jobs.daily): jobs.PeriodicTask(
            sample_jobs.daily, timedelta(days=1), "emails"
        ),
    }
    monkeypatch.setattr(jobs, "_periodic", registry)
    return registry


@pytest.fixture
def no_periodic(monkeypatch):
    monkeypatch.setattr(jobs, "_periodic", {})
