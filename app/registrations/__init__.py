"""Registrations: seats and waitlists, answers, session sign-up, invitations, reminders, the
organizer's attendee list and messages to attendees."""
