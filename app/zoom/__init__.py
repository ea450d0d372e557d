"""Zoom: webhook intake and attendance intervals (issue 5). OAuth, meetings and matching
to registrations come later."""
