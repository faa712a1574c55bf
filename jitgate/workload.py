"""Workload federation: a platform's identity token (Kubernetes, GitHub Actions, any OIDC
issuer the org trusts) traded for the agent's access token, instead of a stored private key.

The platform token is read afresh for every exchange: Kubernetes rewrites a projected
service-account token in place (about every hour, well before it expires), and a file read once
at start-up would go stale while the pod runs on.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jitgate._protocol import Credentials, Endpoints, ScopeKey
from jitgate.errors import JitgateError

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# Kubernetes' default projection path; pass it (or your own) to from_workload_token.
KUBERNETES_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
MAX_TOKEN_BYTES = 64 * 1024  # a JWT is a few KiB; anything larger is not one
WORKLOAD_TOKEN_ENV = "JITGATE_WORKLOAD_TOKEN_FILE"

TokenSource = str | os.PathLike[str] | Callable[[], str]


class WorkloadTokenUnavailable(JitgateError):
    """The platform token could not be read (missing or empty file, a source that failed)."""

    code = "workload_token_unavailable"


@dataclass(frozen=True)
class WorkloadCredentials:
    """Where the org's token endpoint is and where the platform token comes from.

    `agent_id` is optional and only informative: which agent the token stands for is decided
    by the org's federation rule (the issued token's `sub`).
    """

    base_url: str
    org_id: str
    source: TokenSource
    agent_id: str | None = None

    @classmethod
    def create(
        cls, base_url: str, org_id: str, source: TokenSource, agent_id: str | None = None
    ) -> WorkloadCredentials:
        if not (callable(source) or isinstance(source, str | os.PathLike)):
            raise TypeError("the workload token source is a file path or a callable")
        require_safe_transport(base_url)
        return cls(base_url.rstrip("/"), org_id, source, agent_id)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.base_url, self.org_id)

    def platform_token(self) -> str:
        """The current platform token, read now (never cached: the platform rotates it)."""
        if callable(self.source):
            try:
                token = self.source()
            except Exception as exc:  # the caller's code: report it as what it is
                raise WorkloadTokenUnavailable(f"the workload token source failed: {exc}") from exc
            where = "the workload token source"
        else:
            token, where = _read(Path(self.source)), str(self.source)
        if not isinstance(token, str) or not token.strip():
            raise WorkloadTokenUnavailable(f"{where} gave no token (empty)")
        return token.strip()

    def token_form(self, key: ScopeKey) -> dict[str, str]:
        """The RFC 8693 exchange: no client authentication, the platform's signature is it."""
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": self.platform_token(),
            "subject_token_type": JWT_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
        }
        scopes, resource = key
        if scopes is not None:
            form["scope"] = " ".join(scopes)
        if resource is not None:
            form["resource"] = resource
        return form


def require_safe_transport(base_url: str) -> None:
    """The platform token is a bearer credential (whoever holds it is the agent until it
    expires): it goes over https only, or plain http to this machine (loopback: a local
    jitgate, a sidecar, tests), never in the clear across a network."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
    except ValueError:
        raise JitgateError(f"{base_url!r} is not a URL", code="configuration_error") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise JitgateError(
        f"{base_url!r}: the workload token is only sent over https (plain http only to "
        "127.0.0.0/8, ::1 or localhost)",
        code="configuration_error",
    )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_TOKEN_BYTES + 1)
    except FileNotFoundError:
        raise WorkloadTokenUnavailable(f"no workload token at {path} (file missing)") from None
    except OSError as exc:
        raise WorkloadTokenUnavailable(f"cannot read the workload token at {path}: {exc}") from None
    if len(data) > MAX_TOKEN_BYTES:
        raise WorkloadTokenUnavailable(f"{path} is larger than a token ({MAX_TOKEN_BYTES} bytes)")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise WorkloadTokenUnavailable(f"{path} does not hold a JWT (not ASCII)") from None


def credentials_from_env(environ: Mapping[str, str] | None = None) -> WorkloadCredentials | None:
    """With JITGATE_WORKLOAD_TOKEN_FILE set: a workload's credentials (JITGATE_URL,
    JITGATE_ORG_ID, optional JITGATE_AGENT_ID); None otherwise (the agent uses a key)."""
    env = os.environ if environ is None else environ
    path = env.get(WORKLOAD_TOKEN_ENV)
    if not path:
        return None
    missing = [name for name in ("JITGATE_URL", "JITGATE_ORG_ID") if not env.get(name)]
    if missing:
        raise JitgateError(
            f"missing environment variables: {', '.join(missing)}", code="configuration_error"
        )
    return WorkloadCredentials.create(
        env["JITGATE_URL"], env["JITGATE_ORG_ID"], path, env.get("JITGATE_AGENT_ID") or None
    )


# What an AgentAuth holds: an agent's signing key, or a workload's platform token.
AnyCredentials = Credentials | WorkloadCredentials
