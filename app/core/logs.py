"""Process logging: plain text by default, one JSON object per line with JITGATE_LOG_FORMAT=json.

Every record carries the request it belongs to (request_id, org, agent, route), and a filter
blanks anything shaped like a credential (JWTs, admin/approver tokens, Bearer values) from the
message, so a careless `log.info(...)` cannot leak one into a log pipeline.
"""

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "org", "agent", "route", "status", "duration_ms")
# One mutable dict per request: a sync handler runs in a copied context, so it can add the
# agent to the request's dict (mutation) where a ContextVar.set would stay in its own copy.
request_context: ContextVar[dict[str, Any] | None] = ContextVar("jitgate_request", default=None)
REDACTED = "[redacted]"
_SECRETS = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # any JWS/JWT
    r"|jg(?:adm|apr)_[A-Za-z0-9_-]+"  # admin and approver tokens
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"
)


def redact(text: str) -> str:
    return _SECRETS.sub(REDACTED, text)


def bind(**fields: Any) -> None:
    """Add fields (org, agent, ...) to the current request's log context, if there is one."""
    context = request_context.get()
    if context is not None:
        context.update({k: v for k, v in fields.items() if v is not None})


def current_request_id() -> str | None:
    context = request_context.get()
    return None if context is None else context.get("request_id")


class ContextFilter(logging.Filter):
    """Stamps request fields on each record and redacts credentials from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get() or {}
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name) and name in context:
                setattr(record, name, context[name])
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request_id={rid}]" if rid else line


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        ["asctime", "levelname", "name", "message"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Root handler on stderr for the web process, workers and the CLI's server commands."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if log_format == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_jitgate", False)]:
        root.removeHandler(old)
    handler._jitgate = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        # uvicorn's access line prints raw paths (sign-in links carry tokens); ours prints the
        # route template instead (app/http/request_log.py).
        logging.getLogger(noisy).setLevel(logging.WARNING)
