"""A real SMTP server on loopback (aiosmtpd), for tests that watch what people are told."""

from __future__ import annotations

import email

from aiosmtpd.controller import Controller

from .servers import free_port


class Mailbox:
    """What a real SMTP server received. Addresses in ``refuse`` get 550."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]

    def everything(self) -> str:
        return "\n".join(m.as_string() for m in self.messages)


class SMTPServer:
    """Started and stopped as a test needs (a mail server down, then up again), always on
    the same port, keeping what it received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
