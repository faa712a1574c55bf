"""The per-client-address rate limit of the unauthenticated routes, as a route dependency."""

from fastapi import Depends, Request

from app.identity import rate_limits


def client_address(request: Request) -> str:
    # The ASGI client: uvicorn (proxy_headers) has already put X-Forwarded-For's address there
    # when the peer is a trusted proxy (--forwarded-allow-ips). The header is never read here:
    # anyone can send one.
    return request.client.host if request.client else "unknown"


async def limit_client_address(request: Request) -> None:
    rate_limits.limit_address(client_address(request))


# dependencies=[ClientAddressLimit] on a route: counted before its body or session is touched.
ClientAddressLimit = Depends(limit_client_address)
