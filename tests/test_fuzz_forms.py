"""Bad input is never a 500: every form of the site, posted with generated values.

The test logs in as the owner of a small world (events, sessions, a venue, a question, an
organization, CPD rows, a certificate template, a registration...) and crawls the site from
a few start pages the way a person clicks: every page it reaches is parsed for its forms
(inputs, selects, textareas, and the `hx-post` actions inside them). Nothing is listed by
hand, so a new form is fuzzed as soon as a page links to it; a POST route of `app.url_map`
that no crawled page offers must be named in NOT_CRAWLED, with the reason.

Each form is then posted with values Hypothesis generates per field type (huge and negative
numbers, dates at the ends of the calendar, NUL characters, 100,000-character strings,
values of the wrong type, empty fields) and a valid CSRF token. Each answer must be below
500; a refusal (4xx) must have written nothing (every table's row count is unchanged); an
accepted post must leave the page the form lives on readable. Each GET page crawled is also
opened with generated query strings (q, from, to, month, page...).

FUZZ_EXAMPLES (default 5) sets the examples per form and per page; generation is
derandomized, so a run is repeatable in CI. The number of cases run is printed.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.accounts.models import User, UserCertification
from app.certificates.models import CertificateTemplate
from app.events.models import (
    CustomFieldType,
    EventCustomField,
    EventFormat,
    EventRole,
    RecurrenceFrequency,
)
from app.events.recurrence import RuleInput, set_rule
from app.extensions import db
from app.organizations.models import OrganizationMembership
from app.organizations.permissions import OrgRole
from app.organizations.services import OrganizationService
from app.registrations.invitations import InvitationService
from app.registrations.reminders import ReminderService
from app.states import EventStatus, RegistrationStatus
from tests.certificates.cpd_helpers import activity, requirement
from tests.certificates.issuing_helpers import attend, completed_event, register
from tests.conftest import create_user, csrf_token, log_in
from tests.factories import (
    CalendarFactory,
    CategoryFactory,
    EventFactory,
    SessionFactory,
    UserFactory,
    VenueFactory,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
START_PAGES = ("/dashboard", "/events", "/calendars", "/cpd", "/account/profile",
               "/account/certifications", "/account/sessions", "/account/privacy", "/orgs",
               "/certificates/templates", "/events/new", "/venues/new")
ANONYMOUS_START = ("/", "/login", "/signup", "/forgot-password", "/events")
# Never followed nor posted: leaving the session, and what is not the app's own pages.
SKIPPED = re.compile(r"^/(logout|static/|admin/)|\.(ics|csv|pdf|json|png|jpg)$|/(report|export)")
MAX_PAGES = 400
PER_ENDPOINT = 2  # pages crawled per route (one event's pages stand for every event's)
# Actions that end or remove what the other forms use: posted last.
FINAL = re.compile(r"/(delete|remove|cancel|revoke|transfer|leave|decline|withdraw)\b")

# POST routes no crawled page offers a form for, and why. Buttons: a form with no field but
# the CSRF token (tests/test_permissions.py and the role matrices post them), offered only in
# a state the world above is not in; growing the world moves them to the fuzzed list.
BUTTON = "a button without fields, in a state the world does not have"
NOT_CRAWLED = {
    "/logout": "ends the session the crawl needs",
    "/webhooks/zoom": "Zoom signs its calls; tests/zoom covers bad signatures",
    "/reset-password/<token>": "reached from a reset email's link, not from a page",
    "/verify-email/resend": "shown to an unverified account only",
    "/zoom/disconnect": "shown once Zoom is connected (OAuth)",
    "/events/<uuid:event_uuid>/speakers": "an HTMX search result's button",
    **{rule: BUTTON for rule in (
        "/events/<uuid:event_uuid>/attendance/<uuid:record_uuid>/ignore",
        "/events/<uuid:event_uuid>/attendance/<uuid:record_uuid>/match",
        "/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/decline",
        "/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/issue",
        "/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/revoke",
        "/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/undo-decline",
        "/events/<uuid:event_uuid>/certificates/issue-all",
        "/events/<uuid:event_uuid>/close",
        "/events/<uuid:event_uuid>/complete",
        "/events/<uuid:event_uuid>/reopen",
        "/events/<uuid:event_uuid>/zoom/<uuid:meeting_uuid>/retry",
        "/events/<uuid:event_uuid>/zoom/registrants/retry",
        "/orgs/<slug>/leave",
        "/registrations/<uuid:registration_uuid>/sessions/<uuid:session_uuid>/drop",
    )},
}
TEXT_EDGES = ["", " ", "a\x00b", "\x00", "x" * 100_000, "<script>alert(1)</script>", "١٢٣",
              "-1", "99999999999999999999", "2147483648", "0001-01-01", "9999-12-31T23:59",
              "null", "[]", "1e400", "NaN"]
NUMBER_EDGES = ["0", "-1", "1", "100", "2147483647", "2147483648", "-2147483649",
                "99999999999999999999", "9" * 5000, "1.5", "1e3", "NaN", "", "abc", "٣"]
DATE_EDGES = ["0001-01-01", "9999-12-31", "1899-12-31", "1900-01-01", "2999-12-31",
              "3000-01-01", "2024-02-30", "0000-00-00", "31/12/2024", ""]
QUERY_NAMES = ("q", "from", "to", "month", "page", "back", "view", "format", "category",
               "status", "field", "answer", "requirement", "show", "template", "organization",
               "invite", "next", "email", "role", "session")


# --- What a page offers


@dataclass
class Input:
    name: str
    kind: str  # text, number, date, datetime-local, month, select, checkbox, radio, hidden...
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    page: str
    actions: list[str]
    inputs: dict[str, Input] = field(default_factory=dict)
    anonymous: bool = False


class FormParser(HTMLParser):
    """The POST forms of a page, and the links it has."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self.links = page, [], []
        self.form: Form | None = None
        self.select: Input | None = None
        self.textarea: Input | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form":
            actions = []
            if (attrs.get("method") or "get").lower() == "post":
                actions.append(attrs.get("action") or self.page)
            if attrs.get("hx-post"):
                actions.append(attrs["hx-post"])
            self.form = Form(self.page, actions) if actions else None
            return
        if self.form is None:
            return
        if attrs.get("hx-post"):
            self.form.actions.append(attrs["hx-post"])
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("file", "submit", "button", "image", "reset"):
                return
            existing = self.form.inputs.get(name)
            if existing and kind in ("radio", "checkbox"):
                existing.options.append(attrs.get("value", "on"))
                return
            value = attrs.get("value", "on" if kind in ("radio", "checkbox") else "")
            self.form.inputs[name] = Input(name, kind, value, [value])
        elif tag == "select" and name:
            self.select = self.form.inputs[name] = Input(name, "select")
        elif tag == "option" and self.select is not None:
            self.select.options.append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = self.form.inputs[name] = Input(name, "textarea")

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.forms.append(self.form)
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def own_path(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(app, client, start: tuple[str, ...]) -> tuple[list[Form], list[str]]:
    """Every POST form reachable from `start`, and the GET pages visited."""
    adapter = app.url_map.bind("localhost")
    queue, seen, visited, per_endpoint, forms = deque(start), set(), [], {}, []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        if path in seen or SKIPPED.search(urlsplit(path).path):
            continue
        seen.add(path)
        try:
            endpoint, _args = adapter.match(urlsplit(path).path, method="GET")
        except Exception:  # noqa: BLE001 - not a page of this app
            continue
        if per_endpoint.get(endpoint, 0) >= PER_ENDPOINT:
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(path)
        assert response.status_code < 500, f"GET {path}: {response.status_code}"
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        visited.append(path)
        parser = FormParser(path)
        parser.feed(response.get_data(as_text=True))
        forms += parser.forms
        queue.extend(p for p in map(own_path, parser.links) if p)
    return forms, visited


def rule_of(app, path: str, method: str) -> str | None:
    try:
        rule, _args = app.url_map.bind("localhost").match(
            urlsplit(path).path, method=method, return_rule=True
        )
    except Exception:  # noqa: BLE001
        return None
    return rule.rule


# --- Generated values


text_values = st.one_of(
    st.sampled_from(TEXT_EDGES),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
number_values = st.one_of(st.sampled_from(NUMBER_EDGES), st.integers(-(10**30), 10**30).map(str))
date_values = st.one_of(st.sampled_from(DATE_EDGES), st.dates().map(date.isoformat))
datetime_values = st.one_of(
    st.sampled_from([d + "T00:00" for d in DATE_EDGES[:6]] + ["9999-12-31T23:59", "2030-01-01"]),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")),
)
month_values = st.one_of(
    st.sampled_from(["0001-01", "9999-12", "1900-01", "2999-12", "3000-01", "2024-13", "x"]),
    st.dates().map(lambda day: day.strftime("%Y-%m")),
)


def values_for(item: Input) -> st.SearchStrategy:
    """What may be sent for one input: its own value, a value of its type, or anything."""
    typed = {
        "number": number_values, "date": date_values, "datetime-local": datetime_values,
        "month": month_values,
    }.get(item.kind, text_values)
    if item.options and item.kind in ("select", "radio", "checkbox"):
        typed = st.sampled_from(item.options)
    return st.one_of(st.just(item.value), typed, text_values, st.none())


def form_data(form: Form) -> st.SearchStrategy:
    fields = {name: values_for(item) for name, item in form.inputs.items()
              if name != "csrf_token"}
    return st.fixed_dictionaries(fields).map(
        lambda data: {name: value for name, value in data.items() if value is not None}
    )


def query_strings() -> st.SearchStrategy:
    value = st.one_of(text_values, number_values, date_values, month_values)
    return st.dictionaries(st.sampled_from(QUERY_NAMES), value, min_size=1, max_size=4)


# --- The world


def build_world(app):
    """An organizer who owns something behind every URL parameter, and a few other people."""
    owner = create_user(app, email="owner@example.com", full_name="Olive Owner")
    with app.test_request_context():
        user = db.session.get(User, owner.id)
        organization = OrganizationService.create(user, name="Owner Org")
        member = UserFactory(full_name="Mo Member")
        db.session.add(OrganizationMembership(organization=organization, user_id=member.id,
                                              role=OrgRole.MEMBER))
        OrganizationService.invite(organization, user, "newcomer@example.com", OrgRole.MEMBER)
        venue = VenueFactory()
        category = CategoryFactory(calendar=CalendarFactory(name="Cardiology"))
        published = EventFactory(organizer=user, format=EventFormat.HYBRID, venue=venue,
                                 categories=[category], capacity=1)
        draft = EventFactory(organizer=user, status=EventStatus.DRAFT, title="Draft event")
        speaker = UserFactory(full_name="Sam Speaker")
        for event in (published, draft):
            for n in range(2):
                SessionFactory(event=event, start_at=event.start_at + timedelta(hours=n),
                               end_at=event.start_at + timedelta(hours=n + 1))
            for n, label in enumerate(("Dietary needs", "Job title")):
                db.session.add(EventCustomField(event=event, label=label, position=n + 1,
                                                field_type=CustomFieldType.SHORT_TEXT))
        published.add_member(speaker, EventRole.SPEAKER)
        db.session.flush()
        published.sessions[0].add_speaker(speaker)
        register(published, "Ann Attendee")
        register(published, "Wes Waiting", status=RegistrationStatus.WAITLISTED)
        InvitationService.invite(published, user, "guest@example.com")
        ReminderService.add(published, 60)
        set_rule(draft, RuleInput(frequency=RecurrenceFrequency.WEEKLY, count=3))
        past = completed_event(user, title="Past event")
        for name in ("Pat Past", "Dee Done"):
            attend(register(past, name), 100, past.sessions[0])
        other = EventFactory(title="Someone else's event", session_signup=True)
        SessionFactory(event=other)
        register(other, "Olive Owner", user=user)
        db.session.add(UserCertification(user_id=user.id, cert_type="ACLS"))
        requirement(user)
        activity(user, date(2024, 5, 1))
        db.session.add(CertificateTemplate(name="Fuzz design", owner_id=user.id, css="",
                                           html="<p>{{ attendee_name }}</p>",
                                           field_positions={}))
        db.session.commit()
    return owner


def table_counts() -> tuple[int, ...]:
    counts = [sa.select(sa.func.count()).select_from(table).scalar_subquery()
              for table in db.metadata.sorted_tables]
    return tuple(db.session.execute(sa.select(*counts)).one())


# --- The test


def test_no_form_or_page_answers_5xx_or_half_writes(app, client):
    owner = build_world(app)
    anonymous = app.test_client()
    forms, pages = crawl(app, anonymous, ANONYMOUS_START)
    for form in forms:
        form.anonymous = True
    log_in(client, owner.email)
    owner_forms, owner_pages = crawl(app, client, START_PAGES)
    forms, pages = forms + owner_forms, pages + owner_pages

    posted: dict[str, Form] = {}
    for form in forms:
        for action in form.actions:
            path = own_path(action)
            rule = path and rule_of(app, path, "POST")
            if rule and not SKIPPED.search(urlsplit(path).path) and rule not in posted:
                posted[rule] = Form(form.page, [path], form.inputs)
    post_rules = {rule.rule for rule in app.url_map.iter_rules()
                  if "POST" in rule.methods and not SKIPPED.search(rule.rule)}
    missing = post_rules - set(posted) - set(NOT_CRAWLED)
    assert not missing, f"no crawled page offers a form for: {sorted(missing)}"
    stale = set(NOT_CRAWLED) & set(posted)
    assert not stale, f"fuzzed now, remove from NOT_CRAWLED: {sorted(stale)}"

    cases = []
    tokens = {False: csrf_token(client, "/account/profile"), True: csrf_token(anonymous, "/login")}

    def fuzz_form(rule: str, form: Form, poster) -> None:
        @FUZZ
        @given(data=form_data(form))
        def post(data):
            cases.append(rule)
            with app.app_context():
                before = table_counts()
            response = poster.post(form.actions[0],
                                   data={**data, "csrf_token": tokens[form.anonymous]})
            status = response.status_code
            assert status < 500, f"POST {rule} {data!r:.300}: {status}"
            if 400 <= status < 500:
                with app.app_context():
                    assert table_counts() == before, f"POST {rule} refused ({status}) but wrote"
            else:
                page = poster.get(form.page)
                assert page.status_code < 500, f"{form.page} after POST {rule}: {page.status_code}"

        post()

    def fuzz_page(path: str) -> None:
        @FUZZ
        @given(args=query_strings())
        def get(args):
            cases.append(path)
            separator = "&" if "?" in path else "?"
            response = client.get(path + separator + urlencode(args))
            assert response.status_code < 500, f"GET {path} {args!r:.300}"

        get()

    for rule, form in sorted(posted.items(), key=lambda item: bool(FINAL.search(item[0]))):
        if client.get("/login").status_code == 200:  # a form ended the session (revoke)
            log_in(client, owner.email)
        fuzz_form(rule, form, anonymous if form.anonymous else client)
    if client.get("/login").status_code == 200:
        log_in(client, owner.email)
    for path in pages:
        if not FINAL.search(path):
            fuzz_page(path)

    print(f"\nfuzzed {len(posted)} forms and {len(pages)} pages: {len(cases)} cases")
