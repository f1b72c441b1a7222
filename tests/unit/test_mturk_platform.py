"""The Mechanical Turk adapter against botocore's Stubber, which checks every request against
the real service model: each operation, each error, pagination and the duplicate create."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import boto3
import pytest
from botocore import stub
from botocore.stub import Stubber

from streams.crowd.events import hit_request
from streams.crowd.mturk import (
    PRODUCTION_ENDPOINT,
    SANDBOX_ENDPOINT,
    MTurkConfig,
    MTurkPlatform,
    create_hit_request,
    mturk_client,
    parse_answers,
    request_token,
)
from streams.crowd.platform import HitRequest, PlatformRefused, PlatformUnavailable
from streams.workers.models import QUALIFICATION
from tests.factories import T0, hit

NOW = T0 + timedelta(minutes=5)
MTURK_HIT = "3AMW0RGHOD1P7TJKGFCNXUZIXQSPNL"  # 30 characters, as MTurk's
ANSWERS_NS = ("http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"
              "QuestionFormAnswers.xsd")


def answer_xml(answers: dict[str, str | None]) -> str:
    """An HTMLQuestion assignment's Answer as MTurk returns it (the assignment id included)."""
    parts = "".join(f"<Answer><QuestionIdentifier>{name}</QuestionIdentifier>"
                    f"<FreeText>{escape(value or '')}</FreeText></Answer>"
                    for name, value in {"assignmentId": "X", **answers}.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{ANSWERS_NS}">' \
           f"{parts}</QuestionFormAnswers>"


def assignment(n: int, answers: dict[str, str | None] | None = None, *,
               raw: str | None = None, status: str = "Submitted") -> dict[str, Any]:
    return {"AssignmentId": f"A{n:029d}", "WorkerId": f"W{n}", "HITId": MTURK_HIT,
            "AssignmentStatus": status, "AcceptTime": T0 + timedelta(minutes=n),
            "SubmitTime": T0 + timedelta(minutes=n, seconds=30),
            "Answer": raw if raw is not None else answer_xml(answers or {"twitter": f"@w{n}"})}


@pytest.fixture
def stubbed() -> Iterator[tuple[MTurkPlatform, Stubber, list[float]]]:
    client = boto3.client("mturk", region_name="us-east-1", endpoint_url=SANDBOX_ENDPOINT,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    sleeps: list[float] = []
    platform = MTurkPlatform(client, MTurkConfig(), sleep=sleeps.append, clock=lambda: NOW)
    with Stubber(client) as stubber:
        yield platform, stubber, sleeps
        stubber.assert_no_pending_responses()


def request(**changes: Any) -> HitRequest:
    return replace(hit_request(hit()), **changes)


def post(platform: MTurkPlatform, stubber: Stubber, hit: HitRequest | None = None) -> HitRequest:
    hit = hit or request()
    stubber.add_response("create_hit", {"HIT": {"HITId": MTURK_HIT}},
                         create_hit_request(hit, platform.config))
    assert platform.create_hit(hit) == MTURK_HIT
    return hit


def test_create_hit_sends_everything_the_api_requires(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    hit = request(reward_cents=125, max_assignments=9, lifetime_seconds=7200)
    sent = create_hit_request(hit, platform.config)
    assert sent["Reward"] == "1.25" and sent["MaxAssignments"] == 9
    assert sent["LifetimeInSeconds"] == 7200 and sent["AssignmentDurationInSeconds"] == 600
    assert sent["Title"] and sent["Description"] and sent["Keywords"]
    assert sent["UniqueRequestToken"] == request_token("H1")
    assert sent["RequesterAnnotation"] == "H1"
    assert sent["Question"].startswith("<HTMLQuestion xmlns=")
    assert "workersandbox.mturk.com/mturk/externalSubmit" in sent["Question"]
    assert "name='twitter'" in sent["Question"] and "name='assignmentId'" in sent["Question"]
    post(platform, stubber, hit)
    assert platform.calls["create_hit"] == 1
    assert platform.create_hit(hit) == MTURK_HIT  # known: not created again
    assert platform.calls["create_hit"] == 1


def test_the_form_escapes_every_value_and_shows_the_context() -> None:
    context = {"name": "<script>alert('x')</script> & Co", "sport": "basketball",
               "team": "Lakers\"]]>", "league": "NBA", "country": "US",
               "not_twitter": "<b>namesake</b>"}
    question = create_hit_request(request(context=context), MTurkConfig())["Question"]
    assert "<script>alert" not in question and "<b>namesake" not in question
    assert html.escape(context["name"]) in question
    assert question.count("]]>") == 1  # only the CDATA's own end: a value cannot close it
    for value in ("basketball", "NBA", "US", "&lt;b&gt;namesake&lt;/b&gt;"):
        assert value in question
    production = create_hit_request(request(), MTurkConfig(sandbox=False))["Question"]
    assert "https://www.mturk.com/mturk/externalSubmit" in production


def test_qualification_requirements_are_passed_as_configured() -> None:
    requirement = {"QualificationTypeId": "000000000000000000L0", "Comparator": "GreaterThan",
                   "IntegerValues": [95], "ActionsGuarded": "Accept"}
    config = MTurkConfig(qualification_requirements=(requirement,))
    assert create_hit_request(request(), config)["QualificationRequirements"] == [requirement]
    assert "QualificationRequirements" not in create_hit_request(request(), MTurkConfig())


def test_request_tokens_fit_the_api_and_differ_per_hit() -> None:
    long = request_token("R" + "f" * 80)
    assert len(long) <= 64 and long != request_token("R" + "f" * 79)
    assert request_token("H1") != request_token("H2")


def test_a_duplicate_create_recovers_the_existing_hit_from_the_message(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    stubber.add_client_error(
        "create_hit", service_error_code="RequestError", http_status_code=400,
        service_message=f"The HIT with UniqueRequestToken crowdlog-H1 already exists: "
                        f"HITId {MTURK_HIT}.")
    assert platform.create_hit(request()) == MTURK_HIT
    assert platform.platform_hit_id("H1") == MTURK_HIT


def test_a_duplicate_create_without_the_id_finds_it_by_our_annotation(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    stubber.add_client_error("create_hit", service_error_code="RequestError",
                             service_message="AWS.MechanicalTurk.HitAlreadyExists: already "
                                             "exists", http_status_code=400)
    other = "3BBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
    stubber.add_response("list_hits", {"HITs": [{"HITId": other, "RequesterAnnotation": "H0"}],
                                       "NextToken": "p2"}, {"MaxResults": 100})
    stubber.add_response("list_hits", {"HITs": [{"HITId": MTURK_HIT,
                                                  "RequesterAnnotation": "H1"}]},
                         {"MaxResults": 100, "NextToken": "p2"})
    assert platform.create_hit(request()) == MTURK_HIT


def test_a_refused_create_is_a_clear_error_and_not_retried(stubbed: Any) -> None:
    platform, stubber, sleeps = stubbed
    stubber.add_client_error("create_hit", service_error_code="RequestError",
                             service_message="Reward is below the minimum",
                             http_status_code=400)
    with pytest.raises(PlatformRefused, match="create_hit refused \\(RequestError\\): Reward"):
        platform.create_hit(request())
    assert platform.calls["create_hit"] == 1 and sleeps == []
    assert platform.platform_hit_id("H1") is None


def test_a_service_fault_is_retried_with_backoff(stubbed: Any) -> None:
    platform, stubber, sleeps = stubbed
    stubber.add_client_error("create_hit", service_error_code="ServiceFault",
                             service_message="internal", http_status_code=500)
    post(platform, stubber)
    assert platform.calls["create_hit"] == 2 and len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0


def test_throttling_is_retried_a_bounded_number_of_times(stubbed: Any) -> None:
    platform, stubber, sleeps = stubbed
    for _ in range(platform.config.attempts):
        stubber.add_client_error("create_worker_block", service_error_code="ThrottlingException",
                                 service_message="Rate exceeded", http_status_code=400)
    with pytest.raises(PlatformUnavailable, match="5 times: ThrottlingException"):
        platform.block_worker("W1", "quality below the bar", NOW)
    assert platform.calls["create_worker_block"] == 5 and len(sleeps) == 4  # none after the last
    assert all(0.5 * 2 ** n <= s <= 2 ** n for n, s in enumerate(sleeps))  # doubling, jittered


def test_throttling_then_success(stubbed: Any) -> None:
    platform, stubber, sleeps = stubbed
    stubber.add_client_error("create_worker_block", service_error_code="ThrottlingException",
                             service_message="Rate exceeded", http_status_code=400)
    stubber.add_response("create_worker_block", {},
                         {"WorkerId": "W1", "Reason": "quality below the bar"})
    platform.block_worker("W1", "quality below the bar", NOW)
    assert platform.calls["create_worker_block"] == 2 and len(sleeps) == 1


def test_an_unknown_worker_is_refused(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    stubber.add_client_error("create_worker_block", service_error_code="RequestError",
                             service_message="Worker NOPE does not exist", http_status_code=400)
    with pytest.raises(PlatformRefused, match="does not exist"):
        platform.block_worker("NOPE", "quality below the bar", NOW)


def test_assignments_are_paged_read_and_handed_out_once(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber, request(platforms=("twitter", "instagram")))
    first = [assignment(1, {"twitter": "@ann", "instagram": ""}), assignment(2)]
    stubber.add_response("list_assignments_for_hit", {"Assignments": first, "NextToken": "t2"},
                         {"HITId": MTURK_HIT, "MaxResults": 100})
    stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment(3)]},
                         {"HITId": MTURK_HIT, "MaxResults": 100, "NextToken": "t2"})
    found = platform.advance(NOW)
    assert [s.worker_id for s in found] == ["W1", "W2", "W3"]
    assert found[0].answers == {"twitter": "@ann", "instagram": None}
    assert found[0].hit_id == "H1" and found[0].submitted_at == T0 + timedelta(minutes=1,
                                                                                seconds=30)
    stubber.add_response("list_assignments_for_hit",
                         {"Assignments": [*first, assignment(3), assignment(4)]},
                         {"HITId": MTURK_HIT, "MaxResults": 100})
    assert [s.worker_id for s in platform.advance(NOW)] == ["W4"]  # the rest were handed out


def test_a_malformed_answer_is_kept_aside_not_lost(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber)
    bad = [assignment(1, raw="<QuestionFormAnswers><Answer>"),
           assignment(2, raw=f'<QuestionFormAnswers xmlns="{ANSWERS_NS}"><Answer><FreeText>x'
                             "</FreeText></Answer></QuestionFormAnswers>"),
           assignment(3, raw=answer_xml({"twitter": "x" * 501})), assignment(4)]
    stubber.add_response("list_assignments_for_hit", {"Assignments": bad},
                         {"HITId": MTURK_HIT, "MaxResults": 100})
    assert [s.worker_id for s in platform.advance(NOW)] == ["W4"]
    reasons = [u.reason for u in platform.unreadable]
    assert [u.worker_id for u in platform.unreadable] == ["W1", "W2", "W3"]
    assert "not XML" in reasons[0] and "QuestionIdentifier" in reasons[1]
    assert "501 characters" in reasons[2]
    assert platform.unreadable[0].answer == "<QuestionFormAnswers><Answer>"


def test_parse_answers_rejects_another_document() -> None:
    with pytest.raises(ValueError, match="not QuestionFormAnswers"):
        parse_answers("<html/>", ["twitter"])


def test_approve_reject_and_their_repeats(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    stubber.add_response("approve_assignment", {}, {"AssignmentId": "A1"})
    platform.approve_assignment("A1")
    platform.approve_assignment("A1")  # redelivered review: no second call
    assert platform.assignment_status("A1") == "Approved"
    stubber.add_response("reject_assignment", {},
                         {"AssignmentId": "A2", "RequesterFeedback": "disagreed with 4 of 4"})
    platform.reject_assignment("A2", "disagreed with 4 of 4")
    stubber.add_client_error("reject_assignment", service_error_code="RequestError",
                             service_message="status is not Submitted", http_status_code=400)
    stubber.add_response("get_assignment", {"Assignment": {"AssignmentId": "A2",
                                                           "AssignmentStatus": "Rejected"}},
                         {"AssignmentId": "A2"})
    platform.reject_assignment("A2", "disagreed with 4 of 4")  # already rejected: done
    stubber.add_client_error("approve_assignment", service_error_code="RequestError",
                             service_message="status is not Submitted", http_status_code=400)
    stubber.add_response("get_assignment", {"Assignment": {"AssignmentId": "A3",
                                                           "AssignmentStatus": "Approved"}},
                         {"AssignmentId": "A3"})
    platform.approve_assignment("A3")  # approved before a restart: done
    stubber.add_client_error("approve_assignment", service_error_code="RequestError",
                             service_message="no such assignment", http_status_code=400)
    stubber.add_client_error("get_assignment", service_error_code="RequestError",
                             service_message="no such assignment", http_status_code=400)
    with pytest.raises(PlatformRefused, match="no such assignment"):
        platform.approve_assignment("A4")


def test_extensions_respect_the_under_ten_rule(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber, request(max_assignments=5))
    stubber.add_response("create_additional_assignments_for_hit", {},
                         {"HITId": MTURK_HIT, "NumberOfAdditionalAssignments": 4,
                          "UniqueRequestToken": "e1"})
    platform.create_additional_assignments("H1", 5, unique_request_token="e1")  # 5 + 4 = 9
    platform.create_additional_assignments("H1", 5, unique_request_token="e2")  # at 9: no call
    assert platform.calls["create_additional_assignments_for_hit"] == 1


def test_a_hit_of_ten_or_more_is_extended_as_asked_and_a_repeat_is_harmless(
        stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber, request(max_assignments=10))
    expected = {"HITId": MTURK_HIT, "NumberOfAdditionalAssignments": 5,
                "UniqueRequestToken": "e1"}
    stubber.add_response("create_additional_assignments_for_hit", {}, expected)
    platform.create_additional_assignments("H1", 5, unique_request_token="e1")
    stubber.add_client_error("create_additional_assignments_for_hit",
                             service_error_code="RequestError", http_status_code=400,
                             service_message="The UniqueRequestToken e1 was already used",
                             expected_params=expected)
    platform.create_additional_assignments("H1", 5, unique_request_token="e1")


def test_expiring_and_polling_ends_after_the_assignment_duration(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber)
    stubber.add_response("update_expiration_for_hit", {}, {"HITId": MTURK_HIT, "ExpireAt": T0})
    platform.expire_hit("H1", T0)
    later = NOW + timedelta(seconds=platform.config.assignment_duration_seconds + 1)
    assert platform.advance(later) == []  # no call: nothing can be submitted any more
    with pytest.raises(PlatformRefused, match="never posted"):
        platform.expire_hit("H9", T0)


def test_an_expired_hit_refused_by_the_platform_is_a_clear_error(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    post(platform, stubber)
    stubber.add_client_error("update_expiration_for_hit", service_error_code="RequestError",
                             service_message="HIT is already expired and disposed",
                             http_status_code=400)
    with pytest.raises(PlatformRefused, match="already expired"):
        platform.expire_hit("H1", NOW)


def test_endpoints_by_configuration() -> None:
    assert MTurkConfig.from_env({}).endpoint == SANDBOX_ENDPOINT
    production = MTurkConfig.from_env({"CROWDLOG_MTURK_PRODUCTION": "1"})
    assert production.endpoint == PRODUCTION_ENDPOINT and production.name == "mturk"
    client = mturk_client(production)
    assert client.meta.endpoint_url == PRODUCTION_ENDPOINT
    assert client.meta.region_name == "us-east-1"


def test_a_restarted_platform_knows_its_hits_and_assignments(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    hit = request()
    platform.remember(hit, MTURK_HIT)
    platform.restore([])
    assert platform.create_hit(hit) == MTURK_HIT and platform.calls["create_hit"] == 0
    stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment(1)]},
                         {"HITId": MTURK_HIT, "MaxResults": 100})
    [submission] = platform.advance(NOW)
    platform.restore([submission])
    stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment(1)]},
                         {"HITId": MTURK_HIT, "MaxResults": 100})
    assert platform.advance(datetime(2026, 1, 2, 3, 10, tzinfo=UTC)) == []


def test_a_remembered_hit_keeps_its_extensions_and_expiry(stubbed: Any) -> None:
    platform, _stubber, _ = stubbed
    platform.remember(request(max_assignments=5), MTURK_HIT, max_assignments=9,
                      closed_at=T0 - timedelta(hours=1))
    platform.create_additional_assignments("H1", 5, unique_request_token="e9")  # 9: no call
    assert platform.advance(NOW) == []  # expired before the restart, its work long done
    assert sum(platform.calls.values()) == 0


QUAL_TYPE = "3QUALTYPE0000000000000000000XX"


def test_a_qualification_type_is_found_by_name_or_created_once(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    listing = {"Query": QUALIFICATION, "MustBeRequestable": False, "MustBeOwnedByCaller": True,
               "MaxResults": 100}
    stubber.add_response("list_qualification_types", {
        "QualificationTypes": [{"QualificationTypeId": "OTHER", "Name": f"{QUALIFICATION}-old"}],
        "NextToken": "t2"}, listing)
    stubber.add_response("list_qualification_types", {"QualificationTypes": []},
                         {**listing, "NextToken": "t2"})
    stubber.add_response("create_qualification_type", {"QualificationType": {
        "QualificationTypeId": QUAL_TYPE, "Name": QUALIFICATION}}, {
        "Name": QUALIFICATION, "QualificationTypeStatus": "Active",
        "Description": stub.ANY})
    assert platform.qualification_type(QUALIFICATION) == QUAL_TYPE
    assert platform.qualification_type(QUALIFICATION) == QUAL_TYPE  # once: remembered
    assert platform.calls["create_qualification_type"] == 1


def test_a_create_that_lost_a_race_uses_the_type_another_process_made(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    listing = {"Query": QUALIFICATION, "MustBeRequestable": False, "MustBeOwnedByCaller": True,
               "MaxResults": 100}
    stubber.add_response("list_qualification_types", {"QualificationTypes": []}, listing)
    stubber.add_client_error("create_qualification_type", "RequestError",
                             "You have already created a QualificationType with this name.")
    stubber.add_response("list_qualification_types", {"QualificationTypes": [
        {"QualificationTypeId": QUAL_TYPE, "Name": QUALIFICATION}]}, listing)
    assert platform.qualification_type(QUALIFICATION) == QUAL_TYPE


def test_paid_hits_require_the_qualification_and_gold_hits_its_absence(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    platform = replace(platform, config=MTurkConfig(qualification_type_id=QUAL_TYPE))
    paid = request(qualification=QUALIFICATION)
    sent = create_hit_request(paid, platform.config, QUAL_TYPE)
    assert sent["QualificationRequirements"] == [{
        "QualificationTypeId": QUAL_TYPE, "Comparator": "Exists",
        "ActionsGuarded": "DiscoverPreviewAndAccept"}]
    stubber.add_response("create_hit", {"HIT": {"HITId": MTURK_HIT}}, sent)
    assert platform.create_hit(paid) == MTURK_HIT  # no lookup: the type is configured
    gold = create_hit_request(request(qualification=QUALIFICATION, gold=True), platform.config,
                              QUAL_TYPE)
    assert gold["QualificationRequirements"][0]["Comparator"] == "DoesNotExist"
    # its review is held until the worker is decided: MTurk must not approve it after 3 days
    assert (sent["AutoApprovalDelayInSeconds"], gold["AutoApprovalDelayInSeconds"]) == (
        3 * 24 * 3600, 30 * 24 * 3600)
    assert MTurkConfig.from_env({"CROWDLOG_MTURK_QUALIFICATION_TYPE": QUAL_TYPE}) \
        .qualification_type_id == QUAL_TYPE


def test_a_revocation_disassociates_the_qualification_and_is_safe_to_repeat(
        stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    platform = replace(platform, config=MTurkConfig(qualification_type_id=QUAL_TYPE))
    reason = "the qualification was withdrawn (gold answers redacted)"
    request = {"QualificationTypeId": QUAL_TYPE, "WorkerId": "W1", "Reason": reason}
    score = {"QualificationTypeId": QUAL_TYPE, "WorkerId": "W1"}

    def held(status: str) -> dict[str, Any]:
        return {"Qualification": {"QualificationTypeId": QUAL_TYPE, "WorkerId": "W1",
                                  "GrantTime": NOW, "IntegerValue": 1, "Status": status}}

    stubber.add_response("disassociate_qualification_from_worker", {}, request)
    platform.revoke_qualification("W1", QUALIFICATION, reason, NOW)
    for status in ("Revoked", "Granted"):  # repeated: refused, then asked what stands
        stubber.add_client_error("disassociate_qualification_from_worker", "RequestError",
                                 "You cannot disassociate", expected_params=request)
        stubber.add_response("get_qualification_score", held(status), score)
    platform.revoke_qualification("W1", QUALIFICATION, reason, NOW)  # revoked already: done
    with pytest.raises(PlatformRefused, match="cannot disassociate"):
        platform.revoke_qualification("W1", QUALIFICATION, reason, NOW)  # still held
    stubber.add_client_error("disassociate_qualification_from_worker", "RequestError",
                             "no such worker", expected_params=request)
    stubber.add_client_error("get_qualification_score", "RequestError",
                             "You requested a Qualification that does not exist.",
                             expected_params=score)
    platform.revoke_qualification("W1", QUALIFICATION, reason, NOW)  # never held: done
    stubber.assert_no_pending_responses()


def test_a_grant_associates_the_qualification_silently(stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    platform = replace(platform, config=MTurkConfig(qualification_type_id=QUAL_TYPE))
    stubber.add_response("associate_qualification_with_worker", {}, {
        "QualificationTypeId": QUAL_TYPE, "WorkerId": "W1", "IntegerValue": 1,
        "SendNotification": False})
    platform.grant_qualification("W1", QUALIFICATION, NOW)
    stubber.add_client_error("associate_qualification_with_worker", "RequestError",
                             "Worker W404 does not exist")
    with pytest.raises(PlatformRefused, match="W404"):
        platform.grant_qualification("W404", QUALIFICATION, NOW)


def test_a_round_that_fails_part_way_hands_out_nothing_and_the_retry_finds_it(
        stubbed: Any) -> None:
    platform, stubber, _ = stubbed
    other = "3BBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
    platform.remember(request(), MTURK_HIT)
    platform.remember(request(hit_id="H2"), other)
    listing = {"HITId": MTURK_HIT, "MaxResults": 100}
    stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment(1)]}, listing)
    for _ in range(platform.config.attempts):  # the second HIT's listing never answers
        stubber.add_client_error("list_assignments_for_hit", service_error_code="ServiceFault",
                                 service_message="internal", http_status_code=500)
    with pytest.raises(PlatformUnavailable):
        platform.advance(NOW)
    stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment(1)]}, listing)
    stubber.add_response("list_assignments_for_hit", {"Assignments": []},
                         {"HITId": other, "MaxResults": 100})
    assert [s.assignment_id for s in platform.advance(NOW)] == [f"A{1:029d}"]
