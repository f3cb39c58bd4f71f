"""The forms. Flask-WTF adds a CSRF token to each; ``CSRFProtect`` (see ``create_app``)
refuses any POST without a valid one before a view runs.

Each form of the flow carries the challenge in a hidden field and has two submit buttons
with different names: the view checks which one was pressed (``form.deny.data`` is True for
"Deny access"). The forms of ``/apps`` carry no challenge: who they act for is in the session.
"""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    challenge = HiddenField()
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254)])
    # PasswordField never renders the submitted value back into the page.
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=1024)]
    )
    remember = BooleanField("Remember me")
    login = SubmitField("Log in")  # first in the page: pressing Enter logs in
    deny = SubmitField("Deny access")


class ConsentForm(FlaskForm):
    challenge = HiddenField()
    # One checkbox per requested scope. The view sets the choices from the consent request
    # and grants only requested scopes, so validate_choice is off: an unknown value is
    # simply ignored rather than an error page.
    grant_scope = SelectMultipleField(
        "Permissions",
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    remember = BooleanField("Remember this decision")
    allow = SubmitField("Allow")
    deny = SubmitField("Deny")


class LogoutForm(FlaskForm):
    challenge = HiddenField()
    # Hydra's logout ends this browser's session; this also ends every other browser's.
    forget = BooleanField("Also forget my remembered login on every device")
    yes = SubmitField("Yes, log me out")
    no = SubmitField("No, stay logged in")


def printable_text(_form, field) -> None:
    """No control characters (NUL, CR, LF ...): nothing like them is an id or an email."""
    if field.data and not field.data.isprintable():
        raise ValidationError("This field holds characters it cannot hold.")


# A user code: letters and digits, in groups split by dashes or spaces ("BCDF-GHJK").
USER_CODE = re.compile(r"[A-Za-z0-9]+(?:[ -]+[A-Za-z0-9]+)*")
MAX_USER_CODE_LENGTH = 64  # Hydra's are 8 or 9 characters


def user_code_problem(value: str) -> str:
    """What is wrong with a typed user code, or "" when it may be one."""
    value = value.strip()
    if not value:
        return "Enter the code your device shows."
    if len(value) > MAX_USER_CODE_LENGTH or not USER_CODE.fullmatch(value):
        return "A code has only letters and digits (and maybe dashes). Check it on your device."
    return ""


def user_code(_form, field) -> None:
    problem = user_code_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class DeviceForm(FlaskForm):
    """The code a device shows (RFC 8628's user code), for ``/device``."""

    challenge = HiddenField()
    user_code = StringField("Code", validators=[user_code])
    enter = SubmitField("Continue")


class AppsSignInForm(FlaskForm):
    """Sign in to see and forget the apps you allowed (``/apps``)."""

    email = EmailField(
        "Email",
        validators=[InputRequired("Enter your email."), Length(max=254), printable_text],
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=1024)]
    )
    sign_in = SubmitField("Sign in")


class ForgetAppForm(FlaskForm):
    """One per app on ``/apps``: its client id in a hidden field."""

    client_id = HiddenField(
        validators=[InputRequired(), Length(max=255), printable_text],
    )
    forget = SubmitField("Forget")


class SignOutForm(FlaskForm):
    sign_out = SubmitField("Sign out")
