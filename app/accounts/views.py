"""Sign-up, email verification, login/logout, password reset, profile, sessions, privacy."""

from __future__ import annotations

import json
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts.forms import (
    CertificationForm,
    DeleteAccountForm,
    EmailForm,
    EmptyForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignUpForm,
)
from app.accounts.models import UserCertification
from app.accounts.services import AccountService, LoginError
from app.accounts.tokens import InvalidToken
from app.core import privacy
from app.core.forms import FORM_ERROR_STATUS, attempt, safe_next_url
from app.core.htmx import redirect_to, render
from app.core.types import utcnow
from app.extensions import db, limiter

bp = Blueprint("accounts", __name__)


def _login_account_key() -> str:
    return "login-account:" + request.form.get("email", "").strip().lower()


def _login_failed(response: Response) -> bool:
    return g.get("login_failed", False)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm()
    if form.validate_on_submit():
        signed_up = attempt(lambda: AccountService.sign_up(
            email=form.email.data,
            password=form.password.data,
            full_name=form.full_name.data,
            timezone=form.timezone.data,
        ), form)
        if signed_up:
            return redirect(
                url_for("accounts.check_email", email=signed_up.value.email), code=303
            )
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template("accounts/signup.html", form=form), status


@bp.get("/signup/check-email")
def check_email():
    return render_template(
        "accounts/check_email.html", email=request.args.get("email", ""), form=EmailForm()
    )


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    try:
        AccountService.verify_email(token)
    except InvalidToken as error:
        return render_template(
            "accounts/invalid_link.html", message=error.message, kind="verify", form=EmailForm()
        ), 400
    db.session.commit()
    flash(_("Your email address is confirmed. You can log in now."), "success")
    return redirect(url_for("accounts.login"), code=303)


@bp.post("/verify-email/resend")
@limiter.limit("5 per hour")
def resend_verification():
    form = EmailForm()
    if form.validate_on_submit():
        AccountService.resend_verification(form.email.data)
        db.session.commit()
    flash(_("If that address has an unconfirmed account, we sent a new link."), "info")
    return redirect(url_for("accounts.login"), code=303)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_login_account_key, deduct_when=_login_failed)
def login():
    # The dashboard, not the home page: it is where one's events are and new ones start.
    next_url = safe_next_url(request.values.get("next"), url_for("events.dashboard"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    offer_resend = False
    if form.validate_on_submit():
        try:
            result = AccountService.log_in(
                email=form.email.data,
                password=form.password.data,
                user_agent=request.user_agent.string,
                ip_address=request.remote_addr or "",
            )
        except LoginError as error:
            db.session.rollback()
            g.login_failed = True
            offer_resend = error.resend_verification
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            result.user._login_token = result.token
            login_user(result.user, remember=form.remember.data)
            if result.is_first_login:
                flash(_("Welcome to Convene, %(name)s. Create your first event, or find one to "
                        "attend.", name=result.user.display_name), "success")
            else:
                flash(_("Welcome back, %(name)s.", name=result.user.display_name), "success")
            return redirect(next_url, code=303)
    status = FORM_ERROR_STATUS if form.errors or form.form_errors else 200
    return render_template(
        "accounts/login.html", form=form, next_url=next_url, offer_resend=offer_resend,
        resend_form=EmailForm(formdata=None, email=form.email.data),
    ), status


@bp.post("/logout")
@login_required
def logout():
    if current_user.current_session is not None:
        current_user.current_session.revoke()
        db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"), code=303)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        AccountService.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _("If an account uses that address, we sent it a link to choose a new password. "
              "The link is valid for one hour."),
            "info",
        )
        return redirect(url_for("accounts.login"), code=303)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = AccountService.user_for_reset_token(token)
    except InvalidToken as error:
        return render_template(
            "accounts/invalid_link.html", message=error.message, kind="reset", form=EmailForm()
        ), 400
    # A guest's account has no password yet: the same link chooses its first one.
    is_first_password = not user.has_password
    form = ResetPasswordForm()
    if is_first_password:
        form.password.label.text = _("Password")
    new_password = lambda: AccountService.reset_password(token, form.password.data)  # noqa: E731
    if form.validate_on_submit() and attempt(new_password, form):
        logout_user()
        if is_first_password:
            flash(_("Your password is saved. Log in with it."), "success")
        else:
            flash(_("Your password is changed. Log in with your new password."), "success")
        return redirect(url_for("accounts.login"), code=303)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template(
        "accounts/reset_password.html", form=form, user=user, is_first_password=is_first_password
    ), status


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit() and attempt(lambda: current_user.update_profile(
        full_name=form.full_name.data,
        professional_title=form.professional_title.data or "",
        credentials=form.credentials.data or "",
        bio=form.bio.data or "",
        timezone=form.timezone.data,
    ), form):
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"), code=303)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template("accounts/profile.html", form=form), status


@bp.get("/account/sessions")
@login_required
def sessions():
    return render(
        "accounts/sessions.html", "accounts/_sessions.html",
        sessions=current_user.get_active_sessions(), form=EmptyForm(), now=utcnow(),
    )


@bp.post("/account/sessions/<uuid:session_uuid>/revoke")
@login_required
def revoke_session(session_uuid: uuid.UUID):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    revoked = AccountService.revoke_session(current_user, session_uuid)
    if revoked is None:
        abort(404)
    db.session.commit()
    if revoked.id == getattr(current_user.current_session, "id", None):
        logout_user()
        flash(_("This device is logged out."), "info")
        return redirect_to(url_for("accounts.login"))
    flash(_("The session on %(device)s is logged out.", device=revoked.device), "success")
    return render(
        "accounts/sessions.html", "accounts/_sessions.html",
        sessions=current_user.get_active_sessions(), form=EmptyForm(), now=utcnow(),
    )


@bp.get("/account/privacy")
@login_required
def privacy_page():
    return render_template("accounts/privacy.html", form=DeleteAccountForm())


@bp.get("/account/data.json")
@login_required
def download_data():
    data = {
        "exported_at": utcnow().isoformat(),
        "user": str(current_user.uuid),
        "data": privacy.export_user_data(current_user),
    }
    response = Response(json.dumps(data, indent=2, default=str), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="convene-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/delete")
@login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if attempt(lambda: AccountService.delete_account(user, form.password.data), form):
            logout_user()
            return render_template("accounts/deleted.html")
    return render_template("accounts/privacy.html", form=form), FORM_ERROR_STATUS


# --- Certifications (sessions may require one; seed 001)


@bp.route("/account/certifications", methods=["GET", "POST"])
@login_required
def certifications():
    form = CertificationForm()
    if form.validate_on_submit():
        current_user.certifications.append(
            UserCertification(
                cert_type=form.cert_type.data.strip(),
                issuer=(form.issuer.data or "").strip(),
                issued_on=form.issued_on.data,
                expires_on=form.expires_on.data,
            )
        )
        db.session.commit()
        flash(_("“%(cert)s” is added to your certifications.", cert=form.cert_type.data.strip()),
              "success")
        return redirect(url_for("accounts.certifications"), code=303)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template(
        "accounts/certifications.html", form=form, delete_form=EmptyForm(),
        today=utcnow().date(), format_date=format_date,
    ), status


@bp.post("/account/certifications/<uuid:cert_uuid>/delete")
@login_required
def delete_certification(cert_uuid: uuid.UUID):
    if not EmptyForm().validate_on_submit():
        abort(400)
    certification = next((c for c in current_user.certifications if c.uuid == cert_uuid), None)
    if certification is None:
        abort(404)
    current_user.certifications.remove(certification)  # delete-orphan removes the row
    db.session.commit()
    flash(_("“%(cert)s” is removed.", cert=certification.cert_type), "success")
    return redirect(url_for("accounts.certifications"), code=303)
