"""Outbound HTTP to addresses someone else chose: agents' jwks_uri, JIT callback_url, webhooks.

Outside development such a request must not reach the service's own network (loopback, private
ranges, link-local cloud metadata at 169.254.169.254, ...): an agent naming
`http://10.0.0.5/admin` as its callback would otherwise make jitgate POST inside the perimeter.
The check runs after DNS resolution, on every address the name resolves to, and the connection
goes to the address that was checked, so a name that re-resolves to an internal address between
check and connect (DNS rebinding) gains nothing. TLS still verifies the URL's host name.

JITGATE_ALLOW_PRIVATE_URLS decides; unset, it is true only for JITGATE_ENV development and test,
where agents, receivers and JWKS documents usually live on the same machine. Guarded clients
connect directly (no HTTP_PROXY from the environment).
"""

import ipaddress
import socket
from typing import Any

import httpcore
import httpx

from app.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_urls_allowed() -> bool:
    settings = get_settings()
    if settings.allow_private_urls is not None:
        return settings.allow_private_urls
    return settings.env in ("development", "test")


def is_internal(address: IPAddress) -> bool:
    """Anything but a global unicast address: loopback, private, link-local, shared (CGNAT),
    reserved, documentation, unspecified and multicast ranges, also IPv4 mapped into IPv6."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def literal_host_is_internal(host: str) -> bool:
    """For checks at validation time, without DNS: an IP literal or a localhost name."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return is_internal(ipaddress.ip_address(name))
    except ValueError:
        return False  # a name: checked when it is resolved, at connect time


class InternalAddressRefused(httpcore.ConnectError):
    """Raised inside the transport; httpx reports it as httpx.ConnectError."""


class _GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        # info[4][0] is the address text; an IPv6 scope ("%eth0") is not part of the address.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        internal = [a for a in addresses if is_internal(a)]
        if internal:
            raise InternalAddressRefused(
                f"{host!r} resolves to an internal address ({internal[0]}); "
                "set JITGATE_ALLOW_PRIVATE_URLS=true to allow it"
            )
        last: Exception | None = None
        for address in dict.fromkeys(addresses):  # in resolver order, each once
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host!r} resolved to no address")


def refused_as_internal(exc: BaseException) -> bool:
    """Whether an httpx error is this guard's refusal (httpx keeps httpcore's as the cause)."""
    return isinstance(exc.__cause__, InternalAddressRefused)


def client(*, timeout: float) -> httpx.Client:
    """An httpx client for URLs that callers chose: no redirects, and internal addresses
    refused unless private URLs are allowed."""
    if private_urls_allowed():
        return httpx.Client(timeout=timeout, follow_redirects=False)
    transport = httpx.HTTPTransport(retries=0)
    pool = transport._pool  # httpcore.ConnectionPool: every new connection uses its backend
    if not hasattr(pool, "_network_backend"):  # an httpcore that moved it: fail closed
        raise RuntimeError("cannot guard outbound connections with this httpcore version")
    pool._network_backend = _GuardedBackend()
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
