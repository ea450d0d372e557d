"""Events: events, sessions, speakers, roles, custom fields, calendars, venues, recurrence."""
