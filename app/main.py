"""The FastAPI application: routers, error rendering, limits and start-up checks."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import logs
from app.api import (
    agents,
    approvers,
    ask,
    audit,
    authz,
    dashboard,
    email_links,
    errors,
    health,
    jit,
    oauth,
    permissions,
    policies,
    slack,
    wellknown,
)
from app.api.limits import RequestLimits
from app.api.request_log import RequestLog
from app.resources import routes as resources
from app.settings import get_settings

log = logging.getLogger(__name__)
API_PREFIX = "/orgs/{org_id}/api/v1"
# The hot routes come first: routing tries them in order on every request.
API_MODULES = (authz, oauth, ask, jit, agents, approvers, policies, permissions, audit, resources)
OTHER_MODULES = (health, wellknown, slack, email_links, dashboard)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from app import runtime

    await runtime.start(app)
    try:
        yield
    finally:
        await runtime.stop(app)


def create_app() -> FastAPI:
    settings = get_settings()
    settings.check_secure()
    if not logging.getLogger().handlers:  # a server process (a test runner brings its own)
        logs.configure(settings.log_format, settings.log_level)
    app = FastAPI(
        title="jitgate",
        version="0.1.0",
        lifespan=lifespan,
        description="Identity, scoped tokens, authorization and just-in-time approval for AI agents",
    )
    errors.install(app)
    for module in API_MODULES:
        app.include_router(module.router, prefix=API_PREFIX)
    for module in OTHER_MODULES:
        app.include_router(module.router)
    app.include_router(resources.wellknown)

    app.add_middleware(
        RequestLimits, max_body=settings.max_body_bytes, max_headers=settings.max_header_bytes
    )
    app.add_middleware(RequestLog, access_log=settings.access_log)  # outermost: ids on refusals too
    return app
