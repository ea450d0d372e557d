"""Account operations that span models or send mail. They flush; the caller commits once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from app.accounts import tokens
from app.accounts.models import User, UserCertification, UserSession, check_timezone
from app.accounts.passwords import check_password_strength
from app.core import privacy
from app.core.errors import ValidationError
from app.core.types import canonical_email, utcnow
from app.extensions import db
from app.mailing.services import MailService
from app.states import USER_MACHINE, UserStatus


class LoginError(ValidationError):
    """Login refused; `resend_verification` says whether to offer a new confirmation link."""

    def __init__(self, message: str, resend_verification: bool = False):
        super().__init__(message)
        self.resend_verification = resend_verification


@dataclass
class LoginResult:
    user: User
    session: UserSession
    token: str
    is_first_login: bool = False  # the account's first login ever: greet, don't "welcome back"


def find_user_by_email(email: str) -> User | None:
    """The live account with this address (any case, surrounding spaces), or None."""
    try:
        address = canonical_email(email)
    except ValueError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == address))


def _email_taken(address: str) -> bool:
    """Whether any account, deleted ones included, holds `address` (the column is unique)."""
    query = sa.select(User.id).where(User.email == address).execution_options(include_deleted=True)
    return db.session.scalar(query) is not None


class AccountService:
    @staticmethod
    def sign_up(*, email: str, password: str, full_name: str, timezone: str = "UTC") -> User:
        """Create an unverified account (or complete an invited one) and email the link."""
        address = _canonical(email)
        check_timezone(timezone)
        check_password_strength(password, user_inputs=[address, full_name])
        user = find_user_by_email(address)
        if user is not None and user.status != UserStatus.INVITED:
            raise ValidationError(
                _l("An account with this email address already exists. Log in, or reset your "
                   "password if you forgot it."),
                field="email",
            )
        if user is None:
            if _email_taken(address):
                raise ValidationError(_l("This email address cannot be used."), field="email")
            user = User(email=address, status=UserStatus.UNVERIFIED)
            db.session.add(user)
        else:
            USER_MACHINE.fire(user, "sign_up")
        user.full_name = full_name.strip()
        user.timezone = timezone
        user.set_password(password)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except sa.exc.IntegrityError:
            raise ValidationError(
                _l("An account with this email address already exists."), field="email"
            ) from None
        AccountService.send_verification(user)
        return user

    @staticmethod
    def invite(email: str, full_name: str = "") -> User:
        """The account with this address, or a new INVITED one without a password (a speaker
        invitation, a guest registration): one account per canonical email, whichever path
        created it. The caller emails a new account, as only it knows why it was invited."""
        address = _canonical(email)
        user = find_user_by_email(address)
        if user is None:
            if _email_taken(address):
                raise ValidationError(_l("This email address cannot be used."), field="email")
            user = User(email=address, status=UserStatus.INVITED,
                        full_name=(full_name or "").strip()[:200])
            db.session.add(user)
            try:
                with db.session.begin_nested():
                    db.session.flush()
            except sa.exc.IntegrityError:  # invited at the same moment by someone else
                user = find_user_by_email(address)
        if user is None or user.status in (UserStatus.DEACTIVATED, UserStatus.DELETED):
            raise ValidationError(_l("This email address cannot be used."), field="email")
        return user

    @staticmethod
    def send_verification(user: User) -> None:
        token = tokens.make_token(user, tokens.VERIFY_EMAIL)
        MailService.send(
            "verify_email",
            user.email,
            {
                "user_name": user.display_name,
                "verify_url": url_for("accounts.verify_email", token=token, _external=True),
            },
            user=user,
        )

    @staticmethod
    def resend_verification(email: str) -> None:
        """Send a new link if an unverified account has this address; silent otherwise."""
        user = find_user_by_email(email)
        if user is not None and user.status == UserStatus.UNVERIFIED:
            AccountService.send_verification(user)

    @staticmethod
    def verify_email(token: str) -> User:
        payload = tokens.read_token(token, tokens.VERIFY_EMAIL)
        user = _user_from_payload(payload)
        if user is None or not tokens.token_matches(user, payload, tokens.VERIFY_EMAIL):
            raise tokens.InvalidToken(_l("This link is not valid any more."))
        if user.status == UserStatus.ACTIVE:
            return user  # clicked twice: already done
        user.verify_email()
        return user

    @staticmethod
    def log_in(*, email: str, password: str, user_agent: str, ip_address: str) -> LoginResult:
        user = find_user_by_email(email)
        if user is None or not user.check_password(password):
            raise LoginError(_l("Invalid email or password."))
        refusal = user.login_refusal()
        if refusal:
            raise LoginError(refusal, resend_verification=user.status == UserStatus.UNVERIFIED)
        session, token = UserSession.start(user, user_agent=user_agent, ip_address=ip_address)
        is_first_login = user.last_login_at is None
        user.last_login_at = utcnow()
        db.session.flush()
        return LoginResult(user, session, token, is_first_login)

    @staticmethod
    def request_password_reset(email: str) -> None:
        """Email a reset link when an account can use one; silent otherwise (no enumeration)."""
        user = find_user_by_email(email)
        if user is None or user.status in (UserStatus.DEACTIVATED, UserStatus.DELETED):
            return
        token = tokens.make_token(user, tokens.RESET_PASSWORD)
        MailService.send(
            "reset_password",
            user.email,
            {
                "user_name": user.display_name,
                "reset_url": url_for("accounts.reset_password", token=token, _external=True),
            },
            user=user,
        )

    @staticmethod
    def user_for_reset_token(token: str) -> User:
        payload = tokens.read_token(token, tokens.RESET_PASSWORD)
        user = _user_from_payload(payload)
        if user is None or not tokens.token_matches(user, payload, tokens.RESET_PASSWORD):
            raise tokens.InvalidToken(_l("This link has already been used or is no longer valid."))
        if user.status in (UserStatus.DEACTIVATED, UserStatus.DELETED):
            raise tokens.InvalidToken(_l("This account cannot be used."))
        return user

    @staticmethod
    def reset_password(token: str, password: str) -> User:
        """Set a new password from an emailed link; the link proves the address, once."""
        user = AccountService.user_for_reset_token(token)
        check_password_strength(password, user_inputs=[user.email, user.full_name])
        user.set_password(password)
        if user.status == UserStatus.UNVERIFIED:
            user.verify_email()
        elif user.status == UserStatus.INVITED:
            user.claim()
        user.revoke_all_sessions()
        MailService.send("password_changed", user.email, {"user_name": user.display_name}, user)
        return user

    @staticmethod
    def revoke_session(user: User, session_uuid) -> UserSession | None:
        session = db.session.scalar(
            sa.select(UserSession).where(
                UserSession.uuid == session_uuid, UserSession.user_id == user.id
            )
        )
        if session is not None:
            session.revoke()
        return session

    @staticmethod
    def delete_account(user: User, password: str) -> None:
        """Erase the account (seed 003 "GDPR Compliance"): every area anonymises its data."""
        if not user.check_password(password):
            raise ValidationError(_l("That is not your current password."), field="password")
        USER_MACHINE.fire(user, "erase")
        privacy.anonymise_user(user)
        user.soft_delete()
        db.session.flush()

    @staticmethod
    def create_admin(email: str, password: str, full_name: str = "") -> User:
        """Make (or promote) an active admin account; used by `flask users create-admin`."""
        address = _canonical(email)
        check_password_strength(password, user_inputs=[address, full_name])
        user = find_user_by_email(address)
        if user is None:
            user = User(email=address, status=UserStatus.ACTIVE, email_verified_at=utcnow())
            db.session.add(user)
        elif user.status == UserStatus.UNVERIFIED:
            user.verify_email()
        elif user.status == UserStatus.INVITED:
            user.claim()
        elif user.status != UserStatus.ACTIVE:
            raise ValidationError(
                _l("The account %(email)s is %(status)s.", email=address, status=user.status.value)
            )
        user.full_name = full_name or user.full_name or "Administrator"
        user.is_admin = True
        user.set_password(password)
        db.session.flush()
        return user


def _canonical(email: str) -> str:
    try:
        return canonical_email(email)
    except ValueError as exc:
        raise ValidationError(str(exc), field="email") from None


def _user_from_payload(payload: dict) -> User | None:
    return db.session.scalar(sa.select(User).where(User.uuid == _uuid(payload.get("u"))))


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Privacy: what accounts holds about a user, and how it is erased


def export_account(user: User) -> dict:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "professional_title": user.professional_title,
        "credentials": user.credentials,
        "bio": user.bio,
        "timezone": user.timezone,
        "status": user.status.value,
        "created_at": user.created_at.isoformat(),
        "email_verified_at": user.email_verified_at and user.email_verified_at.isoformat(),
        "last_login_at": user.last_login_at and user.last_login_at.isoformat(),
        "login_sessions": [
            {
                "device": s.device,
                "ip_address": s.ip_address,
                "started_at": s.created_at.isoformat(),
                "last_seen_at": s.last_seen_at.isoformat(),
                "revoked_at": s.revoked_at and s.revoked_at.isoformat(),
            }
            for s in user.sessions
        ],
        "certifications": [
            {
                "cert_type": c.cert_type,
                "issuer": c.issuer,
                "issued_on": c.issued_on and c.issued_on.isoformat(),
                "expires_on": c.expires_on and c.expires_on.isoformat(),
            }
            for c in user.certifications
        ],
    }


def anonymise_account(user: User) -> None:
    user.email = privacy.anonymised_email(user)
    user.full_name = "Deleted User"
    user.professional_title = ""
    user.credentials = ""
    user.bio = ""
    user.password_hash = None
    user.is_admin = False
    user.security_stamp = ""  # no reset link can match an empty stamp
    # Login sessions and certifications are personal data: they go (the export lists them).
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(sa.delete(UserCertification).where(UserCertification.user_id == user.id))
    db.session.expire(user, ["sessions", "certifications"])


privacy.register("account", export=export_account, anonymise=anonymise_account, order=1000)
