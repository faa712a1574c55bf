"""Rendering for the dashboard: templates, security headers, who is signed in, friendly errors.

Dashboard routes use DashboardRoute, which turns every refusal (not signed in, bad form, a
domain error, a malformed request) into a page or a redirect instead of the API's JSON. The
session dependency commits after the handler returns, so a handler that may fail half way
through a write rolls back itself before rendering its error.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import JitgateError
from app.dashboard import session as sessions
from app.http.deps import SessionDep
from app.http.limits import BodyTooLarge
from app.models import Approver

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def short_id(value: str) -> str:
    """agt_5653748566cba18c3b25ec57 → agt_565374…ec57: enough to tell ids apart in a table."""
    if len(value) <= 18:
        return value
    return f"{value[:10]}…{value[-4:]}"


templates.env.filters["short_id"] = short_id
LOGIN_PATH = "/dashboard/login"
CHANNEL = "dashboard"  # how decisions taken here are recorded


def security_headers() -> dict[str, str]:
    ws_origin = sessions.public_origin().replace("http", "ws", 1)
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src 'self' {ws_origin}; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        ),
    }


@dataclass(frozen=True)
class DashboardUser:
    approver: Approver
    state: sessions.SessionState

    @property
    def label(self) -> str:
        return self.approver.name or self.approver.email


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form (the admin portal names its own)."""

    def __init__(self, login_path: str = "") -> None:
        super().__init__(login_path)
        self.login_path = login_path


class Problem(Exception):
    """A refusal shown as a page: status, a heading and a sentence, and the refusal's own
    headers (a 429's or 503's Retry-After)."""

    def __init__(
        self, status: int, title: str, text: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.text = status, title, text
        self.headers = headers or {}


def page_renderer(folder: Jinja2Templates) -> Callable[..., HTMLResponse]:
    """render() for a portal's templates (the dashboard's, the admin portal's): the page with
    these security headers, and the signed-in user (any with .state.csrf) and its CSRF token."""

    def render(
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        user: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        ctx = {"user": user, "csrf": user.state.csrf if user else "", **(context or {})}
        return folder.TemplateResponse(
            request,
            name,
            ctx,
            status_code=status,
            headers={**(headers or {}), **security_headers()},
        )

    return render


render = page_renderer(templates)


def problem_page(request: Request, problem: Problem) -> HTMLResponse:
    context = {"title": problem.title, "text": problem.text}
    return render(
        request, "dashboard_error.html", context, status=problem.status, headers=problem.headers
    )


def read_since(raw: str) -> datetime | None:
    """A page's "since" filter: an ISO date or date-time (as a datetime-local input sends it),
    read as UTC; left empty, None."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Problem(400, "That date was not understood", "Use a date like 2026-11-29.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def safe_next(target: str | None) -> str:
    """Only a dashboard page is a place to return to after login (no open redirect)."""
    if (
        target
        and target.startswith("/dashboard/")
        and not target.startswith(("/dashboard/fragments", "/dashboard/static", "//"))
        and "\\" not in target
        and all(" " < c < "\x7f" for c in target)
    ):
        return target
    return "/dashboard/pending"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def to_login(request: Request) -> RedirectResponse:
    url = LOGIN_PATH
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if safe_next(here) == here:
            url += "?next=" + quote(here, safe="/")
    return see_other(url)


def _problem_for(exc: Exception) -> Problem:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, JitgateError):
        return Problem(exc.status, "That did not work", exc.description, headers=exc.headers)
    if isinstance(exc, StarletteHTTPException):
        return Problem(exc.status_code, "That did not work", str(exc.detail), headers=exc.headers)
    if isinstance(exc, BodyTooLarge):
        return Problem(413, "That was too much", "The form you sent is too large.")
    return Problem(400, "That request was not understood", "Check the address or the form.")


class DashboardRoute(APIRoute):
    """Refusals become pages: the API's JSON error handlers never see a dashboard route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return see_other(exc.login_path) if exc.login_path else to_login(request)
            except (
                Problem,
                JitgateError,
                RequestValidationError,
                StarletteHTTPException,
                BodyTooLarge,
            ) as exc:
                return problem_page(request, _problem_for(exc))

        return route


def current_user(request: Request, session: SessionDep) -> DashboardUser:
    state = sessions.decode(request.cookies.get(sessions.COOKIE))
    if state is None:
        raise LoginRequired()
    approver = session.get(Approver, state.approver)
    if not sessions.approver_holds(state, approver):
        raise LoginRequired()
    assert approver is not None
    return DashboardUser(approver=approver, state=state)


CurrentUser = Annotated[DashboardUser, Depends(current_user)]
CsrfField = Annotated[str, Form(alias="csrf_token")]

FORM_EXPIRED = (
    "This form has expired",
    "For your safety the form could not be checked. Go back, reload the page and try again.",
)
WRONG_ORIGIN = ("This form came from another site", "Open the dashboard at its own address.")


def check_origin(request: Request) -> None:
    if not sessions.origin_allowed(request.headers.get("origin"), required=False):
        raise Problem(403, *WRONG_ORIGIN)


def posting_user(request: Request, user: CurrentUser, csrf_token: CsrfField = "") -> DashboardUser:
    """A signed-in approver whose form carries this session's CSRF token (checked in constant time)."""
    check_origin(request)
    if not sessions.csrf_matches(user.state, csrf_token):
        raise Problem(403, *FORM_EXPIRED)
    return user


PostingUser = Annotated[DashboardUser, Depends(posting_user)]
