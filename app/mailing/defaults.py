"""The email templates Convene ships. `flask mail seed` copies them into the database, where
admins may edit them; until then (or when a row is deactivated) these defaults are used."""

from __future__ import annotations

import copy

from app.mailing.models import EmailTemplate, EmailTemplateType

_FOOTER_TEXT = "\n\n—\nConvene · {{ site_url }}"
_FOOTER_HTML = (
    '<p style="color:#555;font-size:13px;margin-top:32px">Convene · '
    '<a href="{{ site_url }}">{{ site_url }}</a></p>'
)

DEFAULTS: dict[str, dict] = {
    "verify_email": {
        "display_name": "Confirm your email address",
        "description": "Sent after sign-up; the link activates the account.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "verify_url", "site_url"],
        "subject": "Confirm your email address for Convene",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "Please confirm your email address by opening this link:\n\n{{ verify_url }}\n\n"
            "The link is valid for three days. If you did not sign up, ignore this message."
            + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>Please confirm your email address:</p>"
            '<p><a href="{{ verify_url }}">Confirm my email address</a></p>'
            "<p>The link is valid for three days. If you did not sign up, ignore this message.</p>"
            + _FOOTER_HTML
        ),
    },
    "reset_password": {
        "display_name": "Reset your password",
        "description": "Sent when someone asks to reset a forgotten password.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "reset_url", "site_url"],
        "subject": "Reset your Convene password",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "Someone asked to reset the password of your Convene account. To choose a new "
            "password, open this link within one hour:\n\n{{ reset_url }}\n\n"
            "The link works once. If it was not you, ignore this message: your password stays "
            "as it is." + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>Someone asked to reset the password of your Convene account. To choose a new "
            "password, open this link within one hour:</p>"
            '<p><a href="{{ reset_url }}">Choose a new password</a></p>'
            "<p>The link works once. If it was not you, ignore this message: your password "
            "stays as it is.</p>" + _FOOTER_HTML
        ),
    },
    "password_changed": {
        "display_name": "Your password was changed",
        "description": "Sent after a password is reset or changed.",
        "template_type": EmailTemplateType.SYSTEM,
        "variables": ["user_name", "site_url"],
        "subject": "Your Convene password was changed",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "The password of your Convene account was just changed and every other login "
            "session was signed out. If this was not you, reset your password at once."
            + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>The password of your Convene account was just changed and every other login "
            "session was signed out. If this was not you, reset your password at once.</p>"
            + _FOOTER_HTML
        ),
    },
    "speaker_invitation": {
        "display_name": "Invitation to speak",
        "description": "Sent when an organizer invites someone without a password yet to speak "
        "at an event; the link sets a password and activates the account.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "inviter_name", "set_password_url", "site_url"],
        "subject": "{{ inviter_name }} invited you to speak at {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "{{ inviter_name }} added you as a speaker of “{{ event_title }}” on Convene. "
            "To see your sessions, choose a password for your account within one hour:\n\n"
            "{{ set_password_url }}\n\n"
            "Later, use “Forgot password” on the login page with this email address to get a "
            "new link. If you did not expect this invitation, ignore this message."
            + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>{{ inviter_name }} added you as a speaker of “{{ event_title }}” on Convene. "
            "To see your sessions, choose a password for your account within one hour:</p>"
            '<p><a href="{{ set_password_url }}">Choose my password</a></p>'
            "<p>Later, use “Forgot password” on the login page with this email address to get "
            "a new link. If you did not expect this invitation, ignore this message.</p>"
            + _FOOTER_HTML
        ),
    },
    "registration_confirmed": {
        "display_name": "Your registration is confirmed",
        "description": "Sent when a registration takes a seat.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "event_url", "site_url"],
        "subject": "You are registered for {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "Your registration for “{{ event_title }}” is confirmed: a seat is yours.\n\n"
            "{{ event_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>Your registration for “{{ event_title }}” is confirmed: a seat is yours.</p>"
            '<p><a href="{{ event_url }}">See the event</a></p>' + _FOOTER_HTML
        ),
    },
    "registration_waitlisted": {
        "display_name": "You are on the waitlist",
        "description": "Sent when a full event puts a registration on its waitlist.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "event_url", "position", "site_url"],
        "subject": "You are on the waitlist for {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "“{{ event_title }}” is full, so you are on its waitlist, number {{ position }} in "
            "line. When a seat frees up, the first person in line gets it and we email you.\n\n"
            "{{ event_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>“{{ event_title }}” is full, so you are on its waitlist, number {{ position }} "
            "in line. When a seat frees up, the first person in line gets it and we email "
            "you.</p>"
            '<p><a href="{{ event_url }}">See the event</a></p>' + _FOOTER_HTML
        ),
    },
    "registration_promoted": {
        "display_name": "A seat is yours",
        "description": "Sent when a waitlisted registration is promoted to a seat.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "event_url", "site_url"],
        "subject": "A seat freed up: you are registered for {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "A seat freed up for “{{ event_title }}” and it is yours: your registration is "
            "now confirmed.\n\n{{ event_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>A seat freed up for “{{ event_title }}” and it is yours: your registration is "
            "now confirmed.</p>"
            '<p><a href="{{ event_url }}">See the event</a></p>' + _FOOTER_HTML
        ),
    },
    # Attendee side of registration (app/registrations/views/attend.py).
    "guest_registration": {
        "display_name": "Registered as a guest: choose a password",
        "description": "Sent when someone registers for an event without an account; the link "
        "sets a password and activates the account made for them.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "set_password_url", "site_url"],
        "subject": "Choose a password to manage your registration for {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "You registered for “{{ event_title }}” on Convene, so we made an account for this "
            "email address. To see, change or cancel your registration, choose a password "
            "within one hour:\n\n"
            "{{ set_password_url }}\n\n"
            "Later, use “Forgot password” on the login page with this email address to get a "
            "new link. If you did not register, ignore this message." + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>You registered for “{{ event_title }}” on Convene, so we made an account for "
            "this email address. To see, change or cancel your registration, choose a password "
            "within one hour:</p>"
            '<p><a href="{{ set_password_url }}">Choose my password</a></p>'
            "<p>Later, use “Forgot password” on the login page with this email address to get "
            "a new link. If you did not register, ignore this message.</p>" + _FOOTER_HTML
        ),
    },
    "session_place_confirmed": {
        "display_name": "A session place is yours",
        "description": "Sent when someone waiting for a place in a session (session sign-up) "
        "gets one because another attendee dropped the session or cancelled.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": [
            "user_name", "event_title", "event_url", "session_title", "registration_url",
            "site_url",
        ],
        "subject": "A place freed up: you are in “{{ session_title }}”",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "A place freed up in “{{ session_title }}” ({{ event_title }}) and it is yours: "
            "you are no longer on its waitlist.\n\n"
            "Your registration: {{ registration_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>A place freed up in “{{ session_title }}” ({{ event_title }}) and it is yours: "
            "you are no longer on its waitlist.</p>"
            '<p><a href="{{ registration_url }}">See your registration</a></p>' + _FOOTER_HTML
        ),
    },
    # "Email attendees" (app/registrations/messages.py): the organizer's subject and body,
    # already rendered for this recipient in the sandbox, are passed in as plain text.
    "attendee_message": {
        "display_name": "A message from the organizers",
        "description": "Sent when an organizer emails the attendees of an event.",
        "template_type": EmailTemplateType.NOTIFICATION,
        "variables": [
            "message_subject", "message_body", "user_name", "event_title", "event_url",
            "site_url",
        ],
        "subject": "{{ message_subject }}",
        "content_text": (
            "{{ message_body }}\n\n"
            "You receive this message because you registered for “{{ event_title }}”:\n"
            "{{ event_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            '<div style="white-space:pre-wrap">{{ message_body }}</div>'
            "<p>You receive this message because you registered for "
            '<a href="{{ event_url }}">{{ event_title }}</a>.</p>' + _FOOTER_HTML
        ),
    },
    "event_invitation": {
        "display_name": "Invitation to register",
        "description": "Sent when an organizer invites an address to an event; the link opens "
        "the registration form with the address filled in.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["event_title", "event_when", "inviter_name", "register_url", "site_url"],
        "subject": "You are invited to {{ event_title }}",
        "content_text": (
            "Hello,\n\n"
            "{{ inviter_name }} invites you to “{{ event_title }}” ({{ event_when }}).\n\n"
            "To register, open this link:\n\n{{ register_url }}\n\n"
            "If you did not expect this invitation, ignore this message." + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello,</p>"
            "<p>{{ inviter_name }} invites you to “{{ event_title }}” ({{ event_when }}).</p>"
            '<p><a href="{{ register_url }}">Register for {{ event_title }}</a></p>'
            "<p>If you did not expect this invitation, ignore this message.</p>" + _FOOTER_HTML
        ),
    },
    # Organizations (app/organizations/services.py): the link accepts the invitation.
    "organization_invitation": {
        "display_name": "Invitation to join an organization",
        "description": "Sent when an organization's admin invites an address with a role; the "
        "link joins the organization (an account is made for a new address).",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["organization_name", "inviter_name", "role", "accept_url", "expires_on",
                      "organization_logo", "organization_colour", "site_url"],
        "subject": "{{ inviter_name }} invited you to join {{ organization_name }}",
        "content_text": (
            "Hello,\n\n"
            "{{ inviter_name }} invites you to join “{{ organization_name }}” on Convene as "
            "{{ role }}.\n\n"
            "To accept, open this link before {{ expires_on }}:\n\n{{ accept_url }}\n\n"
            "If you did not expect this invitation, ignore this message." + _FOOTER_TEXT
        ),
        # The organization's logo and colour head the HTML part (MailService.build_message).
        "content_html": (
            "<p>Hello,</p>"
            "<p>{{ inviter_name }} invites you to join “{{ organization_name }}” on Convene as "
            "{{ role }}.</p>"
            '<p><a href="{{ accept_url }}">Accept the invitation</a> '
            "(before {{ expires_on }})</p>"
            "<p>If you did not expect this invitation, ignore this message.</p>" + _FOOTER_HTML
        ),
    },
    # Certificates (app/certificates/jobs.py): the PDF is attached.
    "certificate_issued": {
        "display_name": "Your certificate",
        "description": "Sent once when an attendee's certificate is issued, with the PDF "
        "attached and the link that verifies it.",
        "template_type": EmailTemplateType.TRANSACTIONAL,
        "variables": ["user_name", "event_title", "verification_code", "verify_url",
                      "site_url"],
        "subject": "Your certificate for {{ event_title }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "Your certificate for “{{ event_title }}” is attached to this message.\n\n"
            "Anyone can check that it is valid with the code {{ verification_code }} at:\n\n"
            "{{ verify_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>Your certificate for “{{ event_title }}” is attached to this message.</p>"
            "<p>Anyone can check that it is valid with the code "
            "<strong>{{ verification_code }}</strong>: "
            '<a href="{{ verify_url }}">verify the certificate</a>.</p>' + _FOOTER_HTML
        ),
    },
    "event_reminder": {
        "display_name": "Event reminder",
        "description": "Sent to confirmed attendees at the event's reminder times (7 days, "
        "1 day and 1 hour before the start unless the organizer chose others).",
        "template_type": EmailTemplateType.NOTIFICATION,
        "variables": ["user_name", "event_title", "event_when", "starts_in", "event_url",
                      "site_url"],
        "subject": "Reminder: {{ event_title }} starts {{ starts_in }}",
        "content_text": (
            "Hello {{ user_name }},\n\n"
            "“{{ event_title }}” starts {{ starts_in }}: {{ event_when }}.\n\n"
            "{{ event_url }}" + _FOOTER_TEXT
        ),
        "content_html": (
            "<p>Hello {{ user_name }},</p>"
            "<p>“{{ event_title }}” starts {{ starts_in }}: {{ event_when }}.</p>"
            '<p><a href="{{ event_url }}">See the event</a></p>' + _FOOTER_HTML
        ),
    },
}


def default_template(internal_name: str) -> EmailTemplate:
    """A transient (unsaved) template built from the shipped default.

    Each call gets its own copy: changing one (its `variables` list) never changes DEFAULTS.
    """
    if internal_name not in DEFAULTS:
        raise LookupError(f"no email template named {internal_name!r}")
    fields = copy.deepcopy(DEFAULTS[internal_name])
    return EmailTemplate(internal_name=internal_name, is_active=True, **fields)
