"""The log channel: one line per request and outcome, for development and as an audit aid.

Only identifiers and names are logged: the justification and the operation may carry data
that does not belong in log files.
"""

import logging
from typing import Any, ClassVar

from app.core.times import rfc3339
from notifiers.base import RequestView, Target

log = logging.getLogger("jitgate.notifiers.log")
LOG_TARGET = "log"


class LogNotifier:
    slug: ClassVar[str] = "log"

    def targets(self, request: RequestView) -> list[Target]:
        return [Target(address=LOG_TARGET)]

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        log.info(
            "jit request %s pending: org=%s agent=%s permission=%s approvals_required=%d "
            "deadline=%s",
            request.request_id,
            request.org_id,
            request.agent_name,
            request.permission,
            request.approvals_required,
            rfc3339(request.pending_deadline),
        )
        return None

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        log.info(
            "jit request %s %s: org=%s agent=%s permission=%s decided_by=%s",
            request.request_id,
            request.status,
            request.org_id,
            request.agent_name,
            request.permission,
            ",".join(d.approver_id for d in request.decisions) or "-",
        )
