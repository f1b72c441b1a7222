"""The bridge's core driving a small simulated world through the Mechanical Turk adapter, with
a stubbed client (no broker): HITs out, submissions in, reviews, blocks and expiries out, a
restart that neither loses nor repeats, and the API calls it takes per HIT."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from streams.crowd.bridge import Bridge
from streams.crowd.events import (
    GrantQualification,
    RevokeQualification,
    hit_request,
    platform_calls,
    submission_event,
)
from streams.crowd.mturk import SANDBOX_ENDPOINT, MTurkConfig, MTurkPlatform, create_hit_request
from streams.crowd.platform import PlatformRefused, Submission
from streams.crowd.simulated import SimulatedPlatform
from streams.events.deadletter import MessageDeadLettered
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.simulation.convert import provider_records
from streams.tasks import core as tasks
from streams.tasks.core import TaskConfig, TaskState
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitPosted, HitPublished
from streams.workers.models import (
    QUALIFICATION,
    AssignmentReviewed,
    QualificationRevoked,
    WorkerBlocked,
    WorkerQualified,
)
from streams.world.crowd import SimulatedCrowd
from streams.world.generate import generate_world
from streams.world.model import WorldConfig
from tests.unit.test_mturk_platform import answer_xml

CONFIG = MTurkConfig()
SOURCE = "crowd:mturk-sandbox"
WORKERS = Producer("workers", "1.0.0", "test")


def _hits() -> list[HitPublished]:
    world = generate_world(WorldConfig(athletes=5, seed=4, workers=30))
    hits: list[HitPublished] = []
    for record in provider_records(world):
        hits += tasks.on_record(TaskState(), record, TaskConfig(assignments=3))
    return hits


HITS = _hits()
NOW = HITS[0].meta.occurred_at + timedelta(hours=1)


def _answers() -> dict[str, list[Submission]]:
    world = generate_world(WorldConfig(athletes=5, seed=4, workers=30))
    crowd = SimulatedCrowd(world)
    for hit in HITS:
        crowd.create_hit(hit_request(hit))
    found: dict[str, list[Submission]] = {}
    for submission in crowd.advance(NOW + timedelta(days=3)):
        found.setdefault(submission.hit_id, []).append(submission)
    return found


SUBMISSIONS = _answers()


def mturk_id(hit: HitPublished) -> str:
    return f"3{HITS.index(hit):029d}"


def as_assignment(submission: Submission, hit: HitPublished) -> dict[str, Any]:
    return {"AssignmentId": submission.assignment_id, "WorkerId": submission.worker_id,
            "HITId": mturk_id(hit), "AssignmentStatus": "Submitted",
            "AcceptTime": submission.accepted_at, "SubmitTime": submission.submitted_at,
            "Answer": answer_xml(dict(submission.answers))}


def reviewed(submission: Submission, status: str) -> AssignmentReviewed:
    meta = new_meta(event_type=AssignmentReviewed.schema_name, entity_id="x", occurred_at=NOW,
                    producer=WORKERS, provenance=Provenance("crowd", "x"),
                    identity=[submission.assignment_id, status])
    return AssignmentReviewed(meta=meta, hit_id=submission.hit_id,
                              assignment_id=submission.assignment_id,
                              worker_id=submission.worker_id, status=status, reward_cents=10,
                              agreed=1, judged=1, reason="agreed with consensus on 1 of 1")


def blocked(worker_id: str) -> WorkerBlocked:
    meta = new_meta(event_type=WorkerBlocked.schema_name, entity_id=f"worker:{worker_id}",
                    occurred_at=NOW, producer=WORKERS, provenance=Provenance("crowd", worker_id),
                    identity=[worker_id])
    return WorkerBlocked(meta=meta, worker_id=worker_id, accuracy=0.3, uncertainty=0.1,
                         answers=6.0, threshold=0.6, reason="quality below the bar")


def expired(hit: HitPublished) -> HitExpired:
    meta = new_meta(event_type=HitExpired.schema_name, entity_id=hit.entity_id,
                    occurred_at=NOW, producer=Producer("tasks", "1.0.0", "test"),
                    provenance=hit.meta.provenance, identity=[hit.hit_id, "expired"])
    return HitExpired(meta=meta, hit_id=hit.hit_id, reason="decided", max_assignments=3)


@pytest.fixture
def stubber() -> Iterator[tuple[MTurkPlatform, Stubber]]:
    client = boto3.client("mturk", region_name="us-east-1", endpoint_url=SANDBOX_ENDPOINT,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    platform = MTurkPlatform(client, CONFIG, sleep=lambda _s: None, clock=lambda: NOW)
    with Stubber(client) as stub:
        yield platform, stub
        stub.assert_no_pending_responses()


def stub_listing(stub: Stubber, extra: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Every HIT's assignments, the first HIT's over two pages."""
    for n, hit in enumerate(HITS):
        assignments = [as_assignment(s, hit) for s in SUBMISSIONS.get(hit.hit_id, [])]
        assignments += (extra or {}).get(hit.hit_id, [])
        pages = [assignments[:1], assignments[1:]] if n == 0 else [assignments]
        for page, items in enumerate(pages):
            response: dict[str, Any] = {"Assignments": items}
            params: dict[str, Any] = {"HITId": mturk_id(hit), "MaxResults": 100}
            if page + 1 < len(pages):
                response["NextToken"] = f"page{page + 1}"
            if page:
                params["NextToken"] = f"page{page}"
            stub.add_response("list_assignments_for_hit", response, params)


def review_block_and_expire(bridge: Bridge, stub: Stubber) -> list[Submission]:
    """The pipeline's reviews (one rejection), a block and every HIT's expiry, out."""
    everyone = [s for hit in HITS for s in SUBMISSIONS[hit.hit_id]]
    rejected = everyone[-1]
    for submission in everyone[:-1]:  # the pipeline's reviews, a block and expiries out
        stub.add_response("approve_assignment", {}, {"AssignmentId": submission.assignment_id})
        assert bridge.hear(reviewed(submission, "Approved")) == []
    stub.add_response("get_assignment", {"Assignment": {"AssignmentId": rejected.assignment_id,
                                                        "AssignmentStatus": "Submitted"}},
                      {"AssignmentId": rejected.assignment_id})
    stub.add_response("reject_assignment", {}, {"AssignmentId": rejected.assignment_id,
                                                "RequesterFeedback": "agreed with consensus "
                                                                     "on 1 of 1"})
    bridge.hear(reviewed(rejected, "Rejected"))
    stub.add_response("create_worker_block", {}, {"WorkerId": rejected.worker_id,
                                                  "Reason": "quality below the bar"})
    bridge.hear(blocked(rejected.worker_id))
    for hit in HITS:
        stub.add_response("update_expiration_for_hit", {},
                          {"HITId": mturk_id(hit), "ExpireAt": NOW})
        bridge.hear(expired(hit))
    return everyone


def test_a_small_world_through_the_mturk_adapter(stubber: Any) -> None:
    platform, stub = stubber
    assert len(HITS) >= 4 and all(len(SUBMISSIONS[h.hit_id]) == 3 for h in HITS)
    bridge = Bridge(platform, "test")
    bridge.restore([])
    log: list[Event] = list(HITS)
    for hit in HITS:  # HITs out
        stub.add_response("create_hit", {"HIT": {"HITId": mturk_id(hit)}},
                          create_hit_request(hit_request(hit, NOW), CONFIG))
        [posted] = bridge.hear(hit)
        assert isinstance(posted, HitPosted) and posted.platform_hit_id == mturk_id(hit)
        assert posted.meta.parents == (hit.event_id,) and posted.entity_id == hit.entity_id
        log.append(posted)
        assert bridge.hear(hit) == []  # redelivered: nothing called, nothing recorded

    unreadable = {"AssignmentId": "B" * 30, "WorkerId": "WBAD", "HITId": mturk_id(HITS[1]),
                  "AssignmentStatus": "Submitted", "AcceptTime": NOW, "SubmitTime": NOW,
                  "Answer": "<QuestionFormAnswers><Answer>"}
    stub_listing(stub, {HITS[1].hit_id: [unreadable]})
    outputs = bridge.poll()  # submissions in
    log += outputs
    expected = sorted((submission_event(s, hit, "test", source=SOURCE)
                       for hit in HITS for s in SUBMISSIONS[hit.hit_id]),
                      key=lambda e: e.event_id)
    found = sorted((e for e in outputs if isinstance(e, AssignmentSubmitted)),
                   key=lambda e: e.event_id)
    assert found == expected
    [letter] = [e for e in outputs if isinstance(e, MessageDeadLettered)]
    assert letter.error == "unreadable_answer" and "WBAD" in letter.reason
    assert letter.original_value == b"<QuestionFormAnswers><Answer>"
    assert letter.entity_id == HITS[1].entity_id and letter.meta.parents == (HITS[1].event_id,)

    everyone = review_block_and_expire(bridge, stub)
    stub_listing(stub, {HITS[1].hit_id: [unreadable]})
    assert bridge.poll() == []  # polled again: every assignment was handed out already

    calls = sum(platform.calls.values())
    per_hit = calls / len(HITS)
    print(f"\nMTurk calls for {len(HITS)} HITs of 3 assignments: {calls} "
          f"({per_hit:.2f} per HIT): {dict(sorted(platform.calls.items()))}")
    # per HIT: CreateHIT, 2 polls, 3 reviews, UpdateExpiration; + 1 page, GetAssignment, block
    assert calls == len(HITS) * (1 + 2 + 3 + 1) + 2 + 1 + 1
    assert bridge.report()["assignments_in"] == len(everyone)
    assert bridge.progress.unreadable == 1 and bridge.progress.hits_posted == len(HITS)

    # a restarted bridge reads the log back: no HIT created again, no assignment repeated
    client = boto3.client("mturk", region_name="us-east-1", endpoint_url=SANDBOX_ENDPOINT,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    again = MTurkPlatform(client, CONFIG, sleep=lambda _s: None, clock=lambda: NOW)
    restarted = Bridge(again, "test")
    restarted.restore(log)
    with Stubber(client) as second:
        for hit in HITS:
            assert restarted.hear(hit) == []
        stub_listing(second, {HITS[1].hit_id: [unreadable]})
        outputs = restarted.poll()
        second.assert_no_pending_responses()
    # the unreadable answer is dead-lettered again under the same id (dropped as a repeat)
    assert outputs == [letter]
    assert again.calls == {"list_assignments_for_hit": len(HITS) + 1}


def test_a_refused_event_is_done_with_and_reported(stubber: Any) -> None:
    platform, _stub = stubber
    bridge = Bridge(platform, "test")
    with pytest.raises(PlatformRefused, match="never posted"):
        bridge.hear(expired(HITS[0]))
    assert bridge.hear(expired(HITS[0])) == [] and bridge.progress.refused == 1


def test_the_simulated_crowd_in_wall_clock_time() -> None:
    world = generate_world(WorldConfig(athletes=5, seed=4, workers=30))
    wall = [100.0]
    platform = SimulatedPlatform(SimulatedCrowd(world), speed=60, monotonic=lambda: wall[0])
    bridge = Bridge(platform, "test")
    bridge.restore([])
    assert platform.now() is None and bridge.poll() == []
    [posted] = bridge.hear(HITS[0])
    assert isinstance(posted, HitPosted) and posted.platform == "simulated"
    assert platform.now() == HITS[0].meta.occurred_at
    wall[0] += 3600  # an hour of wall-clock time: 60 simulated hours
    found = bridge.poll()
    assert len(found) == 3 and {e.meta.provenance.source for e in found} == {"crowd:simulated"}
    with pytest.raises(PlatformRefused, match="no athlete"):
        bridge.hear(replace(HITS[1], provider_ref="nobody", meta=replace(
            HITS[1].meta, event_id="other")))


def qualified(worker_id: str) -> WorkerQualified:
    meta = new_meta(event_type=WorkerQualified.schema_name, entity_id=f"worker:{worker_id}",
                    occurred_at=NOW, producer=WORKERS, provenance=Provenance("crowd", worker_id),
                    identity=[worker_id, QUALIFICATION])
    return WorkerQualified(meta=meta, worker_id=worker_id, qualification=QUALIFICATION,
                           accuracy=0.9, uncertainty=0.05, gold_answers=9, threshold=0.6,
                           reason="good on gold")


def test_a_qualification_is_granted_on_the_platform(stubber: Any) -> None:
    later = NOW + timedelta(minutes=1)
    assert platform_calls(qualified("W1"), later) == [
        GrantQualification("W1", QUALIFICATION, later)]
    platform, stub = stubber
    bridge = Bridge(platform, "test")
    stub.add_response("list_qualification_types", {"QualificationTypes": [
        {"QualificationTypeId": "QT1", "Name": QUALIFICATION}]}, {
        "Query": QUALIFICATION, "MustBeRequestable": False, "MustBeOwnedByCaller": True,
        "MaxResults": 100})
    stub.add_response("associate_qualification_with_worker", {}, {
        "QualificationTypeId": "QT1", "WorkerId": "W1", "IntegerValue": 1,
        "SendNotification": False})
    assert bridge.hear(qualified("W1")) == []
    assert platform.calls["associate_qualification_with_worker"] == 1
    simulated = SimulatedPlatform(SimulatedCrowd(generate_world(
        WorldConfig(athletes=5, seed=4, workers=30))))
    simulated.grant_qualification("W1", QUALIFICATION, NOW)
    assert simulated.calls["grant_qualification"] == 1


def test_a_revoked_qualification_is_withdrawn_on_the_platform(stubber: Any) -> None:
    granted = qualified("W1")
    meta = new_meta(event_type=QualificationRevoked.schema_name, entity_id="worker:W1",
                    occurred_at=NOW, producer=WORKERS, provenance=Provenance("crowd", "W1"),
                    parents=(granted.event_id,), identity=["W1", "revoked"])
    revoked = QualificationRevoked(meta=meta, worker_id="W1", qualification=QUALIFICATION,
                                   reason="gold answers redacted")
    later = NOW + timedelta(minutes=1)
    assert platform_calls(revoked, later) == [
        RevokeQualification("W1", QUALIFICATION, "gold answers redacted", later)]
    platform, stub = stubber
    stub.add_response("list_qualification_types", {"QualificationTypes": [
        {"QualificationTypeId": "QT1", "Name": QUALIFICATION}]}, {
        "Query": QUALIFICATION, "MustBeRequestable": False, "MustBeOwnedByCaller": True,
        "MaxResults": 100})
    stub.add_response("disassociate_qualification_from_worker", {}, {
        "QualificationTypeId": "QT1", "WorkerId": "W1", "Reason": "gold answers redacted"})
    assert Bridge(platform, "test").hear(revoked) == []
    assert platform.calls["disassociate_qualification_from_worker"] == 1
    # the simulated crowd: a paid HIT only the one granted worker may take
    world = generate_world(WorldConfig(athletes=5, seed=4, workers=30))
    worker = world.workers[0].worker_id
    paid = replace(hit_request(HITS[0], later), qualification=QUALIFICATION)
    answered: dict[bool, int] = {}
    for revoke in (False, True):
        crowd = SimulatedCrowd(world)
        crowd.grant_qualification(worker, QUALIFICATION, NOW)
        if revoke:
            crowd.revoke_qualification(worker, QUALIFICATION, "gold answers redacted", later)
        crowd.create_hit(paid)
        answered[revoke] = len(crowd.advance(later + timedelta(days=3)))
    assert answered == {False: 1, True: 0}
