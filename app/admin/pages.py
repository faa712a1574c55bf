"""What the admin portal's list-and-form pages share: the page rendered with a blank or a typed
form, its GET route, and the answer to a posted form (on to the next page, or this page again
with the API's error text next to the field at fault, status 422).

Each page module (app/admin/*_pages.py) names its page once, as a FormPage, with what the page
lists; its POST routes only turn the form into the API's body and call the service.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import FormState, attempt
from app.admin.session import AdminUser, CurrentAdminUser
from app.dashboard.pages import see_other
from app.http.deps import SessionDep

T = TypeVar("T")
Listing = Callable[[Session, AdminUser], dict[str, Any]]


@dataclass(frozen=True)
class FormPage:
    """One admin page: `/admin/<name>`, template `admin_<name>.html`, what it lists (`listing`)
    and the values its form starts with (`blank`)."""

    name: str
    listing: Listing
    blank: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/admin/{self.name}"

    def render(
        self,
        request: Request,
        session: Session,
        user: AdminUser,
        *,
        form: FormState | None = None,
        status: int = 200,
        listing: dict[str, Any] | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        """The page. `listing`: what it lists when a query chose it (default: self.listing);
        `extra` adds to (or replaces) what the listing gives the template."""
        context = {
            **(self.listing(session, user) if listing is None else listing),
            **extra,
            "page": self.name,
            "form": form or FormState(values=dict(self.blank)),
        }
        return views.render(request, f"admin_{self.name}.html", context, user=user, status=status)

    def serve(self, router: APIRouter) -> None:
        """Add the page's GET route (a page whose address takes no query of its own)."""

        def show(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
            return self.render(request, session, user)

        router.add_api_route(f"/{self.name}", show, methods=["GET"], name=f"{self.name}_page")

    def submit(
        self,
        request: Request,
        session: Session,
        user: AdminUser,
        form: FormState,
        call: Callable[[], T],
        *,
        aliases: dict[str, str] | None = None,
        done: Callable[[T], str] | None = None,
        shown_once: bool = False,
        **extra: Any,
    ) -> Response:
        """Run a posted form's service call: on to `done` (this page by default), or this page
        again with what was typed and what was wrong with it. `shown_once`: the call's answer
        (a new token) is shown here, as `issued`, with 201, never put in a redirect's address."""
        result = attempt(session, form, call, aliases)
        if result is None:
            return self.render(request, session, user, form=form, status=422, **extra)
        if shown_once:
            return self.render(request, session, user, issued=result, status=201)
        return see_other(done(result) if done else self.path)
