"""Mailing: email templates, the email log, and delivery jobs (seed 002 "Mailing Domain")."""
