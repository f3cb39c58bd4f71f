"""The three forms. Flask-WTF adds a CSRF token to each; ``CSRFProtect`` (see ``create_app``)
refuses any POST without a valid one before a view runs.

Each form carries the challenge in a hidden field and has two submit buttons with different
names: the view checks which one was pressed (``form.deny.data`` is True for "Deny access").
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length
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
    yes = SubmitField("Yes, log me out")
    no = SubmitField("No, stay logged in")
