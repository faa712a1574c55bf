"""An SMTP server on loopback (aiosmtpd) that keeps every message it receives, for tests."""

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class CapturingHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class FakeSmtp:
    def __init__(self, controller: Controller, handler: CapturingHandler) -> None:
        self.controller = controller
        self.handler = handler
        self.host = "127.0.0.1"
        self.port = int(controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    handler = CapturingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield FakeSmtp(controller, handler)
    finally:
        controller.stop()
