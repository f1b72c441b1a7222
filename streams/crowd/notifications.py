"""Mechanical Turk's submission notifications through Amazon SQS, so the bridge need not poll.

Polling asks ListAssignmentsForHIT of every open HIT on every round (about 7.8 calls per HIT
over a HIT's life in the stubbed run), whether or not anything was submitted. With a queue
configured (``CROWDLOG_MTURK_NOTIFY_QUEUE``), every HIT type the adapter posts is set up once
(UpdateNotificationSettings) to send ``AssignmentSubmitted`` to the queue, and a round is one
ReceiveMessage plus one GetAssignment per submission.

Notifications are a shortcut, never the record: a message is deleted once its submissions
are handed to the bridge, and a full poll of every open HIT still runs when the adapter
starts and every ``reconcile_seconds`` after, so a message lost, deleted before its
submission reached the log (a crash in between), or never sent (a HIT type set up by a
process that died first) delays a submission until the next full poll but never loses it.
The message format is Mechanical Turk's documented notification document, version
``2014-08-15``: ``{"EventDocVersion", "EventDocId", "CustomerId", "Events": [{"EventType",
"EventTimestamp", "HITTypeId", "HITId", "AssignmentId"}]}``.

The SQS client is injected (tests use botocore's ``Stubber``); :func:`sqs_client` builds the
real one with credentials from the standard AWS chain, never logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]
import structlog
from botocore.config import Config  # type: ignore[import-untyped]

log = structlog.get_logger(__name__)

VERSION = "2014-08-15"
SUBMITTED = "AssignmentSubmitted"
_BATCH = 10  # SQS receives and deletes at most 10 messages per call
_ROUNDS = 10  # at most 100 messages per round: the next round takes the rest
_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")


def notification(queue_url: str) -> dict[str, Any]:
    """UpdateNotificationSettings' ``Notification``: submissions to the queue at ``queue_url``.

    >>> notification("https://sqs.us-east-1.amazonaws.com/123456789012/crowdlog")["EventTypes"]
    ['AssignmentSubmitted']
    """
    return {"Destination": queue_url, "Transport": "SQS", "Version": VERSION,
            "EventTypes": [SUBMITTED]}


@dataclass(frozen=True, slots=True)
class Notified:
    """One submission a notification announced: Mechanical Turk's HIT and assignment ids."""

    platform_hit_id: str
    assignment_id: str


class MalformedNotification(ValueError):
    """A queue message that is not a notification document this adapter can read."""


def parse_notification(body: str) -> list[Notified]:
    """The submissions a notification document announces; other event types are ignored.

    >>> parse_notification('{"EventDocVersion": "2014-08-15", "Events": ['
    ...     '{"EventType": "AssignmentSubmitted", "HITId": "H1", "AssignmentId": "A1"},'
    ...     '{"EventType": "HITReviewable", "HITId": "H1"}]}')
    [Notified(platform_hit_id='H1', assignment_id='A1')]
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedNotification(f"not JSON: {exc}") from None
    events = document.get("Events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise MalformedNotification("no Events list")
    notified = []
    for event in events:
        if not isinstance(event, dict):
            raise MalformedNotification("an event is not an object")
        if event.get("EventType") != SUBMITTED:
            continue
        hit_id, assignment_id = event.get("HITId"), event.get("AssignmentId")
        if not (isinstance(hit_id, str) and hit_id and isinstance(assignment_id, str)
                and assignment_id):
            raise MalformedNotification("an AssignmentSubmitted event lacks HITId or AssignmentId")
        notified.append(Notified(hit_id, assignment_id))
    return notified


def queue_region(queue_url: str) -> str:
    """The AWS region in an SQS queue URL (the queue's client must be in the same region).

    >>> queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/crowdlog")
    'eu-west-1'
    """
    match = _REGION.match(queue_url)
    if match is None:
        raise ValueError(f"not an SQS queue URL: {queue_url!r} "
                         "(expected https://sqs.<region>.amazonaws.com/<account>/<name>)")
    return match.group(1)


def sqs_client(queue_url: str) -> Any:
    """A boto3 ``sqs`` client in the queue's region; botocore retries nothing (the adapter's
    call wrapper does)."""
    return boto3.session.Session().client(
        "sqs", region_name=queue_region(queue_url),
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=30))


@dataclass
class NotificationQueue:
    """The queue Mechanical Turk notifies: receive what it announced, delete what was handed on.

    ``call(operation, **request)`` makes one SQS call, with the adapter's retries.
    """

    queue_url: str
    call: Callable[..., Any]

    def receive(self) -> tuple[list[Notified], list[str]]:
        """The submissions announced by the messages waiting now, and the messages' receipts.

        Does not wait for messages (a round that finds none returns at once). A message that
        is not a notification is logged and returned among the receipts to delete: the next
        full poll covers whatever it meant.
        """
        notified: list[Notified] = []
        receipts: list[str] = []
        for _ in range(_ROUNDS):
            response = self.call("receive_message", QueueUrl=self.queue_url,
                                 MaxNumberOfMessages=_BATCH, WaitTimeSeconds=0)
            messages = response.get("Messages", [])
            for message in messages:
                receipts.append(message["ReceiptHandle"])
                try:
                    notified.extend(parse_notification(message.get("Body", "")))
                except MalformedNotification as exc:
                    log.warning("unreadable notification; the next full poll covers it",
                                message_id=message.get("MessageId"), reason=str(exc))
            if len(messages) < _BATCH:
                break
        return notified, receipts

    def delete(self, receipts: Sequence[str]) -> None:
        """Delete handed-on messages, ten per call; a failed entry is only logged (the
        message comes back and is read again, which the adapter ignores as already seen)."""
        for start in range(0, len(receipts), _BATCH):
            entries = [{"Id": str(index), "ReceiptHandle": receipt}
                       for index, receipt in enumerate(receipts[start:start + _BATCH])]
            response = self.call("delete_message_batch", QueueUrl=self.queue_url,
                                 Entries=entries)
            for failed in response.get("Failed", []):
                log.warning("notification not deleted; it will be read again",
                            code=failed.get("Code"), entry=failed.get("Id"))
