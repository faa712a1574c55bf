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
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpcore
import httpx

from app.core.deadlines import DeadlineBackend, bounded
from app.core.deadlines import deadline as deadline  # callers bound their requests with it
from app.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_urls_allowed() -> bool:
    settings = get_settings()
    if settings.allow_private_urls is not None:
        return settings.allow_private_urls
    return settings.env in ("development", "test")


# IPv6 ranges that carry an IPv4 address in their last 32 bits: IPv4-compatible (deprecated),
# IPv4-translated (SIIT) and the well-known NAT64 prefix. A NAT64 gateway turns
# 64:ff9b::10.0.0.5 into a connection to 10.0.0.5, so the IPv4 address is what must be judged.
_LAST_32_BITS_V4 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Local-use NAT64 (RFC 8215): the IPv4 address sits where the operator chose; never allowed.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002::/16
        return address.sixtofour
    if address.teredo is not None:  # (server, client)
        return address.teredo[1]
    if any(address in net for net in _LAST_32_BITS_V4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: IPAddress) -> bool:
    """Anything but a global unicast address: loopback, private, link-local, shared (CGNAT),
    reserved, documentation, unspecified and multicast ranges, also an IPv4 address of those
    kinds carried inside an IPv6 one (mapped, compatible, translated, NAT64, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_internal(embedded):
            return True
    return not address.is_global or address.is_multicast


def _ip_literal(name: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    # The legacy IPv4 forms resolvers still accept: 2130706433, 0x7f.1, 127.1, 0177.0.0.1, 0.
    if name and all(c in "0123456789abcdefx." for c in name) and any(c.isdigit() for c in name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def literal_host_is_internal(host: str) -> bool:
    """For checks at validation time, without DNS: an IP literal (in any form a resolver would
    take) or a localhost name. Other names are checked when resolved, at connect time."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    literal = _ip_literal(name.split("%", 1)[0])
    return literal is not None and is_internal(literal)


class InternalAddressRefused(httpcore.ConnectError):
    """Raised inside the transport; httpx reports it as httpx.ConnectError."""


# Name lookups run on a small pool of their own, so that the caller stops waiting at its deadline:
# a stalled resolver then holds a pool thread until it answers, never the caller's time.
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jitgate-dns")


def _resolve(host: str, port: int, timeout: float | None) -> list[Any]:
    left = bounded(timeout, httpcore.ConnectTimeout)
    lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=left)
    except FutureTimeout as exc:
        raise httpcore.ConnectTimeout(f"resolving {host!r} outlasted the deadline") from exc
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc


class _GuardedBackend(DeadlineBackend):
    def addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The host's addresses, in resolver order, each once; none may be internal."""
        infos = _resolve(host, port, timeout)
        # info[4][0] is the address text; an IPv6 scope ("%eth0") is not part of the address.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        internal = [a for a in addresses if is_internal(a)]
        if internal:
            raise InternalAddressRefused(
                f"{host!r} resolves to an internal address ({internal[0]}); "
                "set JITGATE_ALLOW_PRIVATE_URLS=true to allow it"
            )
        return [str(address) for address in dict.fromkeys(addresses)]


def refused_as_internal(exc: BaseException) -> bool:
    """Whether an httpx error is this guard's refusal (httpx keeps httpcore's as the cause)."""
    return isinstance(exc.__cause__, InternalAddressRefused)


def client(*, timeout: float) -> httpx.Client:
    """An httpx client for URLs that callers chose: no redirects, internal addresses refused
    unless private URLs are allowed, and `outbound.deadline(seconds)` honoured (it bounds the
    whole request, where `timeout` bounds each socket operation)."""
    transport = httpx.HTTPTransport(retries=0)
    pool = transport._pool  # httpcore.ConnectionPool: every new connection uses its backend
    if not hasattr(pool, "_network_backend"):  # an httpcore that moved it: fail closed
        raise RuntimeError("cannot guard outbound connections with this httpcore version")
    pool._network_backend = DeadlineBackend() if private_urls_allowed() else _GuardedBackend()
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
