"""Email leaves through the outgoing queue.

``EMAIL_BACKEND`` (Django's setting) is this backend: it hands each message
to a task on the outgoing queue, which sends it with ``EMAIL_DELIVERY_BACKEND``
(the operator's ``EMAIL_BACKEND`` variable: SMTP, console, …). A request or an
ASR worker that sends mail only writes a task; a slow mail server holds one
outgoing worker, up to ``EMAIL_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from portal.outgoing import outgoing_enqueue

DELIVER_TASK = "portal.mail.email_deliver"


class OutgoingQueueBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        queued = 0
        for message in email_messages:
            message.connection = None  # the task opens its own
            try:
                outgoing_enqueue(DELIVER_TASK, message, task_name="email")
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            queued += 1
        return queued


def email_deliver(message: EmailMessage) -> int:
    """The outgoing task: send one message with the delivery backend."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    return connection.send_messages([message]) or 0
