"""Email's wire format: the approval request and the outcome follow-up, each as text and HTML."""

import json
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jinja2 import Environment, StrictUndefined

from notifiers.base import RequestView
from notifiers.formatting import Outcome, deciders, format_ttl, outcome_of, quoted, visible

SUBJECT_PREFIX = "[jitgate]"
MAX_SUBJECT_CHARS = 200
MAX_OPERATION_CHARS = 8 * 1024
# Header values may not carry line breaks or other control characters (header injection).
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")

_html = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_text = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)  # noqa: S701 - plain text

REQUEST_TEXT = _text.from_string(
    """{{ requester }} asks for the permission {{ r.permission }}.
{% if chain %}Chain of agency: {{ chain }}
{% endif %}
Agent's justification (written by the agent):
{{ quoted_justification }}

Operation (as the agent sent it):
{{ quoted_operation }}

Requested token lifetime: {{ ttl }}
{% if r.resource %}Token only for: {{ resource }}
{% endif %}Decide before: {{ deadline }}
Request: {{ r.request_id }}

----------------------------------------------------------------------
Your decision links (from jitgate, not from the agent):
Approve: {{ approve_url }}
Deny:    {{ deny_url }}

Each link opens a confirmation page; nothing is decided until you confirm there.
The links are for you only and stop working when the request ends.
"""
)

REQUEST_HTML = _html.from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif; color: #1f2328; max-width: 40em">
<h2 style="font-size: 1.2em">{{ requester }} asks for <code>{{ r.permission }}</code></h2>
{% if chain %}<p>Chain of agency: {{ chain }}</p>
{% endif %}<p><strong>Justification</strong> (written by the agent)<br>{{ justification }}</p>
<p><strong>Operation</strong></p>
<pre style="background: #f6f8fa; padding: .75em; white-space: pre-wrap">{{ operation }}</pre>
<p>Requested token lifetime: {{ ttl }}<br>{% if r.resource %}Token only for: <code>{{ resource }}</code><br>{% endif %}Decide before: {{ deadline }}<br>
Request: <code>{{ r.request_id }}</code></p>
<p><a href="{{ approve_url }}" style="background: #1a7f37; color: #fff; padding: .5em 1em;
 text-decoration: none; border-radius: 4px">Approve…</a>
&nbsp; <a href="{{ deny_url }}" style="background: #cf222e; color: #fff; padding: .5em 1em;
 text-decoration: none; border-radius: 4px">Deny…</a></p>
<p style="color: #59636e; font-size: .9em">Each link opens a confirmation page; nothing is
decided until you confirm there. The links are for you only and stop working when the
request ends.</p>
</body></html>
"""
)

OUTCOME_TEXT = _text.from_string(
    """Request {{ r.request_id }} ({{ requester }} asking for {{ r.permission }}) {{ line }}.

The approve and deny links in the earlier message no longer work.
"""
)

OUTCOME_HTML = _html.from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif; color: #1f2328; max-width: 40em">
<p>Request <code>{{ r.request_id }}</code> ({{ requester }} asking for
<code>{{ r.permission }}</code>) {{ line }}.</p>
<p style="color: #59636e">The approve and deny links in the earlier message no longer work.</p>
</body></html>
"""
)

OUTCOME_PHRASES = {
    Outcome.APPROVED: "was approved",
    Outcome.DENIED: "was denied",
    Outcome.EXPIRED: "expired without a decision",
    Outcome.CANCELLED: "was cancelled by the agent",
}


@dataclass(frozen=True)
class DecisionLinks:
    approve_url: str
    deny_url: str


def header_safe(value: str, limit: int = MAX_SUBJECT_CHARS) -> str:
    return _CONTROL_CHARS.sub(" ", value).strip()[:limit]


def operation_text(request: RequestView) -> str:
    text = json.dumps(request.operation, indent=2, sort_keys=True, ensure_ascii=False)
    return visible(text[:MAX_OPERATION_CHARS])


def _envelope(subject: str, sender: str, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = header_safe(f"{SUBJECT_PREFIX} {subject}")
    message["From"] = sender
    message["To"] = recipient
    return message


def request_message(
    request: RequestView, *, sender: str, recipient: str, links: DecisionLinks
) -> EmailMessage:
    """The approval request for one approver, with links signed for that approver."""
    message = _envelope(
        f"Approval needed: {request.requester} asks for {request.permission}", sender, recipient
    )
    domain = sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(idstring=request.request_id, domain=domain)
    values = {
        "r": request,
        "operation": operation_text(request),
        "quoted_operation": quoted(operation_text(request)),
        "justification": visible(request.justification),
        "quoted_justification": quoted(request.justification),
        "ttl": format_ttl(request.requested_ttl),
        "resource": visible(request.resource or ""),
        "deadline": format_datetime(request.pending_deadline),
        "approve_url": links.approve_url,
        "deny_url": links.deny_url,
        **who_asks(request),
    }
    message.set_content(REQUEST_TEXT.render(**values))
    message.add_alternative(REQUEST_HTML.render(**values), subtype="html")
    return message


def who_asks(request: RequestView) -> dict[str, str | None]:
    """The requester ("planner-bot for alice@acme.com") and a longer chain, made visible."""
    return {
        "requester": visible(request.requester),
        "chain": visible(request.chain) if request.chain else None,
    }


def outcome_phrase(request: RequestView) -> str:
    outcome = outcome_of(request.status)
    phrase = OUTCOME_PHRASES[outcome] if outcome else f"is now {request.status}"
    decided_by = deciders(request)
    if decided_by:
        phrase += " by " + ", ".join(d.approver_label for d in decided_by)
    return phrase


def outcome_message(
    request: RequestView, *, sender: str, recipient: str, in_reply_to: str | None
) -> EmailMessage:
    """A short follow-up in the same thread, so the approver knows the links are dead."""
    line = outcome_phrase(request)
    message = _envelope(f"{request.permission} for {request.requester} {line}", sender, recipient)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(OUTCOME_TEXT.render(r=request, line=line, **who_asks(request)))
    message.add_alternative(
        OUTCOME_HTML.render(r=request, line=line, **who_asks(request)), subtype="html"
    )
    return message
