"""Expected statuses of this module's routes, merged into tests/test_permissions.py (SITE:
anonymous, user, admin; SAMPLES: values for new URL parameters there) and into
tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE: anonymous, attendee, speaker,
other organizer, organizer)."""

SAMPLES: dict[str, str] = {}
SITE: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}
