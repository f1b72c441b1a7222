"""Submissions announced on an SQS queue, against botocore's Stubber for both services (every
request checked against the real service models) and Mechanical Turk's documented
notification document: set-up once per HIT type, full polls at start and on schedule, one
GetAssignment per announced submission, messages deleted once handed on, bad ones skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from streams.crowd.events import hit_request
from streams.crowd.mturk import SANDBOX_ENDPOINT, MTurkConfig, MTurkPlatform, create_hit_request
from streams.crowd.notifications import (
    MalformedNotification,
    notification,
    parse_notification,
    queue_region,
)
from streams.crowd.platform import HitRequest
from tests.factories import T0, hit
from tests.unit.test_mturk_platform import MTURK_HIT, assignment

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/crowdlog-submissions"
HIT_TYPE = "3ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
OTHER_HIT = "3CCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
START = T0 + timedelta(minutes=5)


def document(*events: dict[str, Any]) -> str:
    """A notification as Mechanical Turk sends it (version 2014-08-15)."""
    return json.dumps({"EventDocVersion": "2014-08-15", "EventDocId": "d1",
                       "CustomerId": "C1", "SourceAccount": "123456789012",
                       "Events": list(events)})


def submitted(assignment_id: str, hit_id: str = MTURK_HIT) -> dict[str, Any]:
    return {"EventType": "AssignmentSubmitted", "EventTimestamp": "2026-01-01T00:00:00Z",
            "HITTypeId": HIT_TYPE, "HITId": hit_id, "AssignmentId": assignment_id}


@dataclass
class Rig:
    platform: MTurkPlatform
    mturk: Stubber
    sqs: Stubber
    clock: list[datetime]

    def post(self, request: HitRequest | None = None) -> HitRequest:
        request = request or hit_request(hit())
        self.mturk.add_response("create_hit", {"HIT": {"HITId": MTURK_HIT,
                                                       "HITTypeId": HIT_TYPE}},
                                create_hit_request(request, self.platform.config))
        return request

    def messages(self, *bodies: str) -> None:
        self.sqs.add_response(
            "receive_message",
            {"Messages": [{"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": body}
                          for n, body in enumerate(bodies)]},
            {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0})

    def deleted(self, count: int) -> None:
        self.sqs.add_response(
            "delete_message_batch", {"Successful": [{"Id": str(n)} for n in range(count)],
                                     "Failed": []},
            {"QueueUrl": QUEUE,
             "Entries": [{"Id": str(n), "ReceiptHandle": f"r{n}"} for n in range(count)]})

    def listed(self, *assignments: dict[str, Any]) -> None:
        self.mturk.add_response("list_assignments_for_hit",
                                {"Assignments": list(assignments), "NumResults": len(assignments)},
                                {"HITId": MTURK_HIT, "MaxResults": 100})


@pytest.fixture
def rig() -> Iterator[Rig]:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    mturk = boto3.client("mturk", region_name="us-east-1", endpoint_url=SANDBOX_ENDPOINT, **keys)
    sqs = boto3.client("sqs", region_name="us-east-1", **keys)
    clock = [START]
    platform = MTurkPlatform(mturk, MTurkConfig(notify_queue_url=QUEUE, reconcile_seconds=600),
                             sleep=lambda _: None, clock=lambda: clock[0])
    platform.listen(sqs)
    with Stubber(mturk) as mturk_stub, Stubber(sqs) as sqs_stub:
        yield Rig(platform, mturk_stub, sqs_stub, clock)
        mturk_stub.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()


def test_each_hit_type_is_set_up_to_notify_once(rig: Rig) -> None:
    first = rig.post()
    rig.mturk.add_response("update_notification_settings", {},
                           {"HITTypeId": HIT_TYPE, "Notification": notification(QUEUE),
                            "Active": True})
    rig.platform.create_hit(first)
    rig.post(second := replace(first, hit_id="H2"))
    rig.platform.create_hit(second)
    assert rig.platform.calls["update_notification_settings"] == 1
    assert notification(QUEUE) == {"Destination": QUEUE, "Transport": "SQS",
                                   "Version": "2014-08-15", "EventTypes": ["AssignmentSubmitted"]}


def test_announced_submissions_are_read_once_and_their_messages_deleted(rig: Rig) -> None:
    rig.platform.remember(hit_request(hit()), MTURK_HIT)
    rig.listed(assignment(1))  # the first round polls every HIT
    assert [s.assignment_id for s in rig.platform.advance(START)] == [f"A{1:029d}"]

    # one message announces a new submission, one already polled, and another HIT's
    rig.messages(document(submitted(f"A{2:029d}"), submitted(f"A{1:029d}")),
                 document(submitted(f"A{3:029d}", hit_id=OTHER_HIT)))
    rig.mturk.add_response("get_assignment", {"Assignment": assignment(2), "HIT": {}},
                           {"AssignmentId": f"A{2:029d}"})
    rig.deleted(2)
    found = rig.platform.advance(START + timedelta(minutes=1))
    assert [(s.assignment_id, s.worker_id, s.answers) for s in found] == [
        (f"A{2:029d}", "W2", {"twitter": "@w2"})]
    assert rig.platform.calls["list_assignments_for_hit"] == 1
    assert rig.platform.calls["get_assignment"] == 1


def test_every_hit_is_polled_again_when_a_full_poll_is_due(rig: Rig) -> None:
    rig.platform.remember(hit_request(hit()), MTURK_HIT)
    rig.listed()
    assert rig.platform.advance(START) == []
    rig.messages()
    assert rig.platform.advance(START + timedelta(minutes=9)) == []
    # a submission whose notification never came is found by the scheduled poll
    rig.listed(assignment(4))
    found = rig.platform.advance(START + timedelta(minutes=10))
    assert [s.assignment_id for s in found] == [f"A{4:029d}"]


def test_unreadable_messages_and_refused_reads_are_skipped_and_deleted(rig: Rig) -> None:
    rig.platform.remember(hit_request(hit()), MTURK_HIT)
    rig.listed()
    rig.platform.advance(START)
    rig.messages("not json", document({"EventType": "AssignmentSubmitted"}),
                 document(submitted(f"A{5:029d}")))
    rig.mturk.add_client_error("get_assignment", service_error_code="RequestError",
                               service_message="Assignment does not exist",
                               http_status_code=400)
    rig.deleted(3)
    assert rig.platform.advance(START + timedelta(minutes=1)) == []


def test_a_throttled_queue_is_retried() -> None:
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    mturk = boto3.client("mturk", region_name="us-east-1", endpoint_url=SANDBOX_ENDPOINT,
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    platform = MTurkPlatform(mturk, MTurkConfig(notify_queue_url=QUEUE), sleep=lambda _: None)
    platform.listen(sqs)
    assert platform.notifications is not None
    with Stubber(sqs) as stub:
        stub.add_client_error("receive_message", service_error_code="RequestThrottled",
                              http_status_code=403)
        stub.add_response("receive_message", {"Messages": []},
                          {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0})
        assert platform.notifications.receive() == ([], [])
        stub.assert_no_pending_responses()
    assert platform.calls["receive_message"] == 2


def test_notification_documents_are_read_as_documented() -> None:
    body = document(submitted("A1"), {"EventType": "HITReviewable", "HITId": MTURK_HIT})
    assert [(n.platform_hit_id, n.assignment_id) for n in parse_notification(body)] == [
        (MTURK_HIT, "A1")]
    for bad in ("[]", "{}", '{"Events": [1]}', document({"EventType": "AssignmentSubmitted",
                                                          "HITId": "H"}), "{"):
        with pytest.raises(MalformedNotification):
            parse_notification(bad)


def test_the_queue_is_configured_from_the_environment() -> None:
    config = MTurkConfig.from_env({"CROWDLOG_MTURK_NOTIFY_QUEUE": QUEUE,
                                   "CROWDLOG_MTURK_RECONCILE_SECONDS": "300"})
    assert (config.notify_queue_url, config.reconcile_seconds) == (QUEUE, 300)
    assert MTurkConfig.from_env({}).notify_queue_url is None
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/1/q") == "eu-west-1"
    with pytest.raises(ValueError, match="not an SQS queue URL"):
        MTurkConfig.from_env({"CROWDLOG_MTURK_NOTIFY_QUEUE": "https://example.com/q"})
    with pytest.raises(ValueError, match="no notification queue"):
        MTurkPlatform(None, MTurkConfig()).listen(None)  # type: ignore[arg-type]


def test_a_queue_that_refuses_the_set_up_does_not_undo_the_hit(rig: Rig) -> None:
    request = rig.post()
    rig.mturk.add_client_error("update_notification_settings", service_error_code="RequestError",
                               service_message="cannot send to the queue", http_status_code=400)
    assert rig.platform.create_hit(request) == MTURK_HIT
    assert rig.platform.platform_hit_id("H1") == MTURK_HIT  # recorded: its submissions count
    # the next HIT of the type tries again
    rig.post(second := replace(request, hit_id="H2"))
    rig.mturk.add_response("update_notification_settings", {},
                           {"HITTypeId": HIT_TYPE, "Notification": notification(QUEUE),
                            "Active": True})
    rig.platform.create_hit(second)
    assert rig.platform.calls["update_notification_settings"] == 2
