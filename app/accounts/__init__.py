"""Accounts: users, their lifecycle, login sessions, profile and privacy."""
