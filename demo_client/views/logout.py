"""``POST /logout``: RP-initiated logout (OIDC RP-Initiated Logout §2) at the server's
end-session endpoint; ``GET /logged-out``: the post-logout redirect URI, which checks the
state and clears this browser's local session."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for

from demo_client import errors
from demo_client.flow import ClientFlow
from demo_client.services import services
from demo_client.views.pages import browser_state, configured_url, page

bp = Blueprint("logout", __name__)


@bp.post("/logout")
def logout():
    state = browser_state()
    if state is None:
        raise errors.not_logged_in("log out")
    with state.lock:
        url = ClientFlow(services(), state).start_logout()
    return redirect(url or url_for("home.index"), 303)


@bp.get("/logged-out")
def logged_out():
    state = browser_state()
    if state is None:
        return page("logged_out.html", steps=[], had_session=False)
    with state.lock:
        url = configured_url(services().config.post_logout_redirect_uri)
        ok = ClientFlow(services(), state).finish_logout(url, request.args)
        steps = list(state.steps)
    if not ok:
        raise errors.Explained(
            title="The logout state does not match",
            code="state_mismatch",
            explanation="The state that came back from the logout is not the one this "
            "browser sent (a stale tab, or a logout someone else started). The local "
            "session was kept.",
            next_step="Use the Log out button on the home page.",
            details=[("state received", request.args.get("state", "") or "(none)")],
        )
    services().store.drop(state.id)
    session.clear()
    # Back- or front-channel logout may have ended this session before the browser came back.
    ended = state if state.ended is not None else None
    return page("logged_out.html", steps=steps, had_session=True, ended=ended)
