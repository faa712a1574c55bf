"""The FastAPI application: routers, error rendering, limits and start-up checks."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.api import agents, audit, authz, errors, oauth, permissions, policies, wellknown
from app.api.limits import RequestLimits
from app.settings import get_settings

log = logging.getLogger(__name__)
API_PREFIX = "/orgs/{org_id}/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (agents, oauth, authz, audit, permissions, policies):
        router.include_router(module.router)
    for name in ("approvers", "jit", "ask"):
        module = _optional(name)
        if module is not None:
            router.include_router(module.router)
    return router


def _optional(name: str):  # type: ignore[no-untyped-def]
    import importlib

    try:
        return importlib.import_module(f"app.api.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"app.api.{name}":
            raise
        return None


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
    app = FastAPI(
        title="jitgate",
        version="0.1.0",
        lifespan=lifespan,
        description="Identity, scoped tokens, authorization and just-in-time approval for AI agents",
    )
    errors.install(app)
    app.include_router(api_router())
    app.include_router(wellknown.router)
    for name in ("slack", "email_links", "dashboard"):
        module = _optional(name)
        if module is not None:
            app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        RequestLimits, max_body=settings.max_body_bytes, max_headers=settings.max_header_bytes
    )
    return app
