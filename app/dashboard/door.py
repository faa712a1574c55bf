"""The sign-in door the approvers' dashboard and the admin portal share: the sign-in and link
pages with their nonce cookie, the nonce check on a posted sign-in form, and opening and closing
the session cookie. What differs (the cookies' names and path, the templates, the renderer) is
each portal's SignInDoor; who may sign in, and how it is audited, stay with each portal.

The sign-in forms carry a nonce that must match a SameSite=Strict cookie (there is no session
yet to hold a CSRF token).
"""

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.dashboard import login_link
from app.dashboard import session as sessions
from app.dashboard.pages import Problem, check_origin, see_other
from app.http.deps import SessionDep
from app.settings import get_settings

FORM_EXPIRED_TEXT = "The sign-in form expired. Please try again."
# The sign-in links for an address typed in "email me a link" (none for an unknown address).
LinkMessages = Callable[[Session, str], list[EmailMessage]]


def links_enabled() -> bool:
    """Emailed sign-in links are offered only where SMTP is configured."""
    return bool(get_settings().smtp_host)


@dataclass(frozen=True)
class SignInDoor:
    cookie: str  # the session's
    login_cookie: str  # the sign-in form's nonce
    path: str  # where both cookies are sent
    session_seconds: int
    render: Callable[..., HTMLResponse]
    login_template: str
    link_template: str
    token_name: str  # "approver", "admin": the token one signs in with

    def _cookie_options(self, max_age: int) -> dict[str, Any]:
        return sessions.cookie_options(max_age, path=self.path)

    def _with_nonce(self, page: Callable[[str], Response]) -> Response:
        nonce = sessions.new_login_nonce()
        response = page(nonce)
        options = self._cookie_options(sessions.LOGIN_FORM_SECONDS)
        response.set_cookie(self.login_cookie, nonce, **options)
        return response

    def login_page(
        self, request: Request, *, error: str = "", notice: str = "", status: int = 200, **more: Any
    ) -> Response:
        """The sign-in page (a token, or a link by email where SMTP is configured)."""
        shown = {"error": error, "notice": notice, "email_enabled": links_enabled(), **more}
        return self._with_nonce(
            lambda nonce: self.render(
                request, self.login_template, {"login_csrf": nonce, **shown}, status=status
            )
        )

    def link_page(self, request: Request, **shown: Any) -> Response:
        """What an emailed link shows: whom it signs in, and a button (mail scanners open
        links: a GET signs no one in)."""
        return self._with_nonce(
            lambda nonce: self.render(request, self.link_template, {"login_csrf": nonce, **shown})
        )

    def serve_email_links(self, router: APIRouter, messages: LinkMessages, **route: Any) -> None:
        """Add the portal's "email me a link" route (POST /login/email): the same page whether
        or not the address is known; the links (`messages`) leave after the response, for a
        slow SMTP server never shows in it."""

        def email_me_a_link(
            request: Request,
            session: SessionDep,
            background: BackgroundTasks,
            email: Annotated[str, Form()] = "",
            login_csrf: Annotated[str, Form()] = "",
        ) -> Response:
            if not links_enabled():
                hint = f"Sign in with your {self.token_name} token."
                raise Problem(404, "Sign-in links are not available", hint)
            if not self.form_checked(request, login_csrf):
                return self.login_page(request, error=FORM_EXPIRED_TEXT, status=403)
            found = messages(session, email)
            if found:
                background.add_task(login_link.send, found)
            notice = (
                f"If that address belongs to an {self.token_name}, a sign-in link is on its way."
            )
            return self.login_page(request, notice=notice)

        router.add_api_route("/login/email", email_me_a_link, methods=["POST"], **route)

    def form_checked(self, request: Request, login_csrf: str) -> bool:
        """A posted sign-in form from our own page, within the nonce's lifetime."""
        check_origin(request)
        cookie = request.cookies.get(self.login_cookie)
        return sessions.login_nonce_matches(cookie, login_csrf)

    def open(self, session_cookie: str, then: str) -> Response:
        """On to `then` with the new session's cookie; the sign-in nonce is spent."""
        response = see_other(then)
        options = self._cookie_options(self.session_seconds)
        response.set_cookie(self.cookie, session_cookie, **options)
        response.delete_cookie(self.login_cookie, path=self.path)
        return response

    def close(self, then: str) -> Response:
        """On to `then` without the session's cookie."""
        response = see_other(then)
        secure = sessions.secure_cookies()
        response.delete_cookie(self.cookie, path=self.path, secure=secure, httponly=True)
        return response
