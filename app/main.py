"""The FastAPI application: routers, error rendering, limits and start-up checks."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import fastapi.encoders
from fastapi import FastAPI

from app.admin import routes as admin
from app.approvers import email_links
from app.approvers import routes as approvers
from app.approvers import slack_routes as slack
from app.audit import routes as audit
from app.authz.routes import ask, authzen, policies
from app.authz.routes import catalog as permissions
from app.authz.routes import check as authz
from app.core import logs
from app.core.times import rfc3339
from app.dashboard import routes as dashboard
from app.http import errors, health
from app.http.lean_route import LeanDispatch
from app.http.limits import RequestLimits
from app.http.request_log import RequestLog
from app.identity.routes import agents, federation, oauth, wellknown
from app.jit import routes as jit
from app.resources import routes as resources
from app.settings import get_settings

log = logging.getLogger(__name__)
API_PREFIX = "/orgs/{org_id}/api/v1"
# The hot routes come first: routing tries them in order on every request.
API_MODULES = (
    authz,
    oauth,
    ask,
    jit,
    agents,
    federation,
    approvers,
    policies,
    permissions,
    audit,
    resources,
)
OTHER_MODULES = (health, wellknown, authzen, slack, email_links, dashboard, admin)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from app import runtime

    await runtime.start(app)
    try:
        yield
    finally:
        await runtime.stop(app)


def _one_timestamp_format() -> None:
    # Routes that return dicts are encoded by FastAPI's jsonable_encoder, whose per-type table is
    # public API: every datetime leaves as RFC 3339 UTC with a Z (app/core/times.py).
    fastapi.encoders.ENCODERS_BY_TYPE[datetime] = rfc3339


def create_app() -> FastAPI:
    _one_timestamp_format()
    settings = get_settings()
    settings.check_secure()
    if not logging.getLogger().handlers:  # a server process (a test runner brings its own)
        logs.configure(settings.log_format, settings.log_level)
    app = FastAPI(
        title="jitgate",
        version="0.1.0",
        lifespan=lifespan,
        description="Identity, scoped tokens, authorization and just-in-time approval for AI agents",
        # jitgate has its own metrics (/metrics) and logs; FastAPI's OpenTelemetry hooks asked
        # on every request whether a provider had been configured since (README, Performance).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    for module in API_MODULES:
        app.include_router(module.router, prefix=API_PREFIX)
    for module in OTHER_MODULES:
        app.include_router(module.router)
    app.include_router(resources.wellknown)

    # Innermost: the hot routes skip the router, after the limits and the request log ran.
    app.add_middleware(
        LeanDispatch,
        prefix=API_PREFIX,
        routers=tuple(module.router for module in API_MODULES),
        handlers=app.exception_handlers,
    )
    app.add_middleware(
        RequestLimits, max_body=settings.max_body_bytes, max_headers=settings.max_header_bytes
    )
    app.add_middleware(RequestLog, access_log=settings.access_log)  # outermost: ids on refusals too
    return app
