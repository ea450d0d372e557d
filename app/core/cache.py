"""The page cache for anonymous visitors (DESIGN.md "Caching").

A cached page holds no CSRF token and nothing about a person: only anonymous GET requests
without pending flash messages are served from it or stored in it, and a response that set a
cookie or touched the session is never stored. Pages are keyed by a generation number that
every commit changing a watched model (events, sessions, speakers...) increments, so a visitor
never sees a page older than the last save. The cache is Flask-Caching's: Redis, shared by
every process, in production; in-process in the embedded default, which runs one process.
"""

from __future__ import annotations

from functools import wraps

from flask import Response, current_app, make_response, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import cache

GENERATION_KEY = "page-generation"
_CHANGED = "convene.page_content_changed"
_watched: set[type] = set()


def watch(*model_classes: type) -> None:
    """Commits that insert, change or delete these models invalidate every cached page."""
    _watched.update(model_classes)


def invalidate_pages() -> None:
    """Start a new generation: every page cached so far is ignored from now on."""
    cache.cache.inc(GENERATION_KEY)  # the backend's atomic increment (INCRBY on Redis)


def cached_value(name: str, compute, timeout: int | None = None):
    """A value derived from watched models (the category list of a filter, say), computed
    once per cache generation: the same commits that invalidate pages invalidate it."""
    key = f"value:{cache.get(GENERATION_KEY) or 0}:{name}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=timeout)
    return value


def _page_key() -> str:
    generation = cache.get(GENERATION_KEY) or 0
    fragment = "f" if request.headers.get("HX-Request") == "true" else "p"
    return f"page:{generation}:{fragment}:{request.full_path}"


def _cacheable_request() -> bool:
    return (
        request.method == "GET"
        and current_app.config["PAGE_CACHE"]
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def cache_page(timeout: int | None = None):
    """Serve the view from the page cache to anonymous visitors."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not _cacheable_request():
                return view(*args, **kwargs)
            key = _page_key()
            stored = cache.get(key)
            if stored is not None:
                body, status, headers = stored
                return Response(body, status=status, headers=headers)
            response = make_response(view(*args, **kwargs))
            if (
                response.status_code == 200
                and not session.modified
                and "Set-Cookie" not in response.headers
                and not response.direct_passthrough
            ):
                headers = [
                    (name, value)
                    for name, value in response.headers.items()
                    if name.lower() in ("content-type", "vary", "content-disposition")
                ]
                cache.set(key, (response.get_data(), 200, headers), timeout=timeout)
            return response

        return wrapper

    return decorate


# --- Invalidation: a commit that touched a watched model starts a new generation


def _is_watched(instance) -> bool:
    return isinstance(instance, tuple(_watched))


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    if _watched and any(
        _is_watched(obj) for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _watched:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _invalidate_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: wait for the real commit
    if session.info.pop(_CHANGED, False):
        invalidate_pages()


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)  # rolled back or closed: nothing changed
