"""Amazon Mechanical Turk behind ``CrowdPlatform``, through boto3's ``mturk`` client.

The client is injected (tests stub it with botocore's ``Stubber``, which checks every request
against the service model); ``mturk_client`` builds the real one from configuration, with
credentials from the standard AWS chain (environment, shared files, instance role), never
logged. botocore's own retries are off: every call goes through ``_call``, which retries
throttling and ``ServiceFault`` with bounded, jittered backoff and turns ``RequestError`` into
``PlatformRefused`` at once, so each outcome is counted and tested.

Idempotence, which the bridge's at-least-once delivery relies on:

- CreateHIT carries a ``UniqueRequestToken`` derived from our HIT id; a retried create that
  hears "already exists" recovers the existing HIT's id (from the message, else by listing HITs
  for our id in ``RequesterAnnotation``). A HIT already known (``remember``) is not created again.
- CreateAdditionalAssignmentsForHIT carries the extension event's id as its token.
- Approving an approved assignment, rejecting a rejected one, expiring twice: harmless.

Qualification before pay: a HIT naming a qualification (``HitRequest.qualification``) gets a
``QualificationRequirements`` entry on the qualification type of that name: ``Exists`` on a paid
HIT, ``DoesNotExist`` on a gold (qualification) HIT, guarding ``DiscoverPreviewAndAccept`` so a
worker not eligible does not even see it; ``grant_qualification`` is
AssociateQualificationWithWorker (no notification). The type is ``qualification_type_id`` when
configured, else the caller's type of that name (ListQualificationTypes), else created once
(CreateQualificationType); a create that loses a race to another process finds the winner's.

Mechanical Turk's rules on assignments: a HIT created with fewer than 10 assignments cannot be
extended to 10 or more, and 10 or more assignments cost a 20% extra fee on every assignment.
The adapter posts ``max_assignments`` as the pipeline asks and clamps an extension of a HIT
created with fewer than 10 to 9 in total, rather than send a call the platform refuses.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped]  # typed by mypy_boto3_mturk where it matters
import structlog
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from streams.crowd.notifications import NotificationQueue, notification, queue_region
from streams.crowd.platform import HitRequest, PlatformRefused, PlatformUnavailable, Submission

if TYPE_CHECKING:
    from mypy_boto3_mturk import MTurkClient

log = structlog.get_logger(__name__)

SANDBOX_ENDPOINT = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
PRODUCTION_ENDPOINT = "https://mturk-requester.us-east-1.amazonaws.com"
REGION = "us-east-1"  # Mechanical Turk's only region
_SUBMIT_URL = {True: "https://workersandbox.mturk.com/mturk/externalSubmit",
               False: "https://www.mturk.com/mturk/externalSubmit"}
_HTML_QUESTION_NS = ("http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
                     "2011-11-11/HTMLQuestion.xsd")
_RETRIED = frozenset({"ServiceFault", "ThrottlingException", "Throttling",
                      "TooManyRequestsException", "ServiceUnavailable",
                      "RequestThrottled", "InternalError"})  # the last two: SQS's
_TOKEN_CHARS = 64
_HIT_ID = re.compile(r"\b[A-Z0-9]{30}\b")
_FEE_FREE_MAX = 9  # up to 9 assignments: 20% commission; 10 or more: 40%
MAX_ANSWER_CHARS = 500  # as a provider's handle column (streams.records.core)
_CONTEXT_LABELS = (("name", "Name"), ("sport", "Sport"), ("team", "Team"),
                   ("league", "League"), ("country", "Country"))


@dataclass(frozen=True, slots=True)
class MTurkConfig:
    """How HITs are posted. ``qualification_requirements`` are passed as MTurk takes them
    (``QualificationTypeId``, ``Comparator``, ``IntegerValues``, ``ActionsGuarded``...): the
    place for the qualification type that grading grants before pay."""

    sandbox: bool = True
    keywords: str = "athlete, social media, handle, search"
    description: str = ("Find an athlete's accounts on X (Twitter), Instagram and Facebook; "
                        "leave a field empty if there is none.")
    assignment_duration_seconds: int = 600
    auto_approval_delay_seconds: int = 3 * 24 * 3600  # the pipeline reviews well before
    # A qualification HIT's review is held until its worker is qualified or blocked, which can
    # take longer than 3 days: MTurk would approve (pay) it meanwhile. 30 days is MTurk's most.
    held_auto_approval_delay_seconds: int = 30 * 24 * 3600
    qualification_requirements: tuple[Mapping[str, Any], ...] = ()
    qualification_type_id: str | None = None
    frame_height: int = 600
    attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    # submissions announced on this SQS queue (streams.crowd.notifications) instead of polling
    # every open HIT each round; every HIT is still polled at start and this often after
    notify_queue_url: str | None = None
    reconcile_seconds: int = 900

    @property
    def endpoint(self) -> str:
        return SANDBOX_ENDPOINT if self.sandbox else PRODUCTION_ENDPOINT

    @property
    def name(self) -> str:
        """The platform's name in ``HitPosted`` and provenance: the sandbox is another one."""
        return "mturk-sandbox" if self.sandbox else "mturk"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MTurkConfig:
        """``CROWDLOG_MTURK_PRODUCTION=1`` for real money (default: the sandbox),
        ``CROWDLOG_MTURK_ASSIGNMENT_SECONDS``, ``CROWDLOG_MTURK_QUALIFICATIONS`` (a JSON file
        holding a list of MTurk QualificationRequirement objects),
        ``CROWDLOG_MTURK_QUALIFICATION_TYPE`` (the id of the type the pipeline grants),
        ``CROWDLOG_MTURK_NOTIFY_QUEUE`` (an SQS queue URL for submission notifications) and
        ``CROWDLOG_MTURK_RECONCILE_SECONDS`` (how often every HIT is polled even so)."""
        env = os.environ if env is None else env
        requirements: tuple[Mapping[str, Any], ...] = ()
        path = env.get("CROWDLOG_MTURK_QUALIFICATIONS")
        if path:
            with open(path, encoding="utf-8") as file:
                loaded = json.load(file)
            if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
                raise ValueError("CROWDLOG_MTURK_QUALIFICATIONS must hold a JSON list of objects")
            requirements = tuple(loaded)
        queue = env.get("CROWDLOG_MTURK_NOTIFY_QUEUE") or None
        if queue:
            queue_region(queue)  # refuse a malformed URL at start, not at the first round
        return cls(sandbox=env.get("CROWDLOG_MTURK_PRODUCTION", "0") != "1",
                   assignment_duration_seconds=int(
                       env.get("CROWDLOG_MTURK_ASSIGNMENT_SECONDS", "600")),
                   qualification_requirements=requirements,
                   qualification_type_id=env.get("CROWDLOG_MTURK_QUALIFICATION_TYPE") or None,
                   notify_queue_url=queue,
                   reconcile_seconds=int(env.get("CROWDLOG_MTURK_RECONCILE_SECONDS", "900")))


def mturk_client(config: MTurkConfig) -> MTurkClient:
    """A boto3 ``mturk`` client for the configured endpoint; botocore retries nothing (the
    adapter does). Credentials come from the standard AWS chain and stay inside boto3."""
    client: MTurkClient = boto3.session.Session().client(
        "mturk", region_name=REGION, endpoint_url=config.endpoint,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=30))
    return client


def request_token(hit_id: str) -> str:
    """CreateHIT's UniqueRequestToken for our HIT id: at most 64 characters, one per HIT.

    >>> request_token("H1")
    'crowdlog-H1'
    >>> len(request_token("x" * 100))
    64
    """
    token = f"crowdlog-{hit_id}"
    if len(token) <= _TOKEN_CHARS and re.fullmatch(r"[A-Za-z0-9_.:-]+", token):
        return token
    return "crowdlog-h-" + hashlib.sha256(hit_id.encode()).hexdigest()[:_TOKEN_CHARS - 11]


def reward(cents: int) -> str:
    """MTurk's Reward: a dollar amount as a string.

    >>> reward(10), reward(125), reward(0)
    ('0.10', '1.25', '0.00')
    """
    return f"{cents // 100}.{cents % 100:02d}"


def question_html(hit: HitRequest, submit_url: str) -> str:
    """The worker's form: the athlete's context and one text field per platform.

    Every value is HTML-escaped (quotes too), so nothing from a provider feed becomes markup,
    and the escaped text cannot close the CDATA section it is sent in.
    """
    e = html.escape
    rows = "".join(f"<tr><th>{label}</th><td>{e(hit.context[key])}</td></tr>"
                   for key, label in _CONTEXT_LABELS if hit.context.get(key))
    notes = "".join(f"<p>It is <b>not</b> the {e(p)} account {e(hit.context[f'not_{p}'])}: "
                    f"that is a namesake.</p>" for p in hit.platforms
                    if hit.context.get(f"not_{p}"))
    fields = "".join(
        f"<p><label for='{e(p)}'>{e(p.capitalize())} handle</label> "
        f"<input type='text' id='{e(p)}' name='{e(p)}' maxlength='{MAX_ANSWER_CHARS}'/></p>"
        for p in hit.platforms)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'/>"
        "<script src='https://assets.crowd.aws/crowd-html-elements.js'></script></head><body>"
        f"<form name='mturk_form' method='post' id='mturk_form' action='{e(submit_url)}'>"
        "<input type='hidden' value='' name='assignmentId' id='assignmentId'/>"
        f"<h3>{e(hit.title)}</h3><p>{e(hit.question)}</p><table>{rows}</table>{notes}"
        f"{fields}<p>Leave a field empty if the athlete has no account there.</p>"
        "<p><input type='submit' id='submitButton' value='Submit'/></p></form>"
        "<script>document.getElementById('assignmentId').value = new URLSearchParams("
        "window.location.search).get('assignmentId') || 'ASSIGNMENT_ID_NOT_AVAILABLE';"
        "</script></body></html>")


def question_xml(hit: HitRequest, config: MTurkConfig) -> str:
    """CreateHIT's ``Question``: an HTMLQuestion holding ``question_html``."""
    return (f"<HTMLQuestion xmlns=\"{_HTML_QUESTION_NS}\"><HTMLContent><![CDATA["
            f"{question_html(hit, _SUBMIT_URL[config.sandbox])}]]></HTMLContent>"
            f"<FrameHeight>{config.frame_height}</FrameHeight></HTMLQuestion>")


def create_hit_request(hit: HitRequest, config: MTurkConfig,
                       qualification_type_id: str | None = None) -> dict[str, Any]:
    """The whole CreateHIT request for ``hit`` (pure, so it is tested as it is sent);
    ``qualification_type_id`` is the type of ``hit.qualification``."""
    request: dict[str, Any] = {
        "Title": hit.title[:128], "Description": config.description[:2000],
        "Keywords": config.keywords, "Reward": reward(hit.reward_cents),
        "AssignmentDurationInSeconds": config.assignment_duration_seconds,
        "LifetimeInSeconds": hit.lifetime_seconds,
        "AutoApprovalDelayInSeconds": (config.held_auto_approval_delay_seconds
                                       if hit.gold and hit.qualification is not None
                                       else config.auto_approval_delay_seconds),
        "MaxAssignments": hit.max_assignments,
        "Question": question_xml(hit, config),
        "RequesterAnnotation": hit.hit_id[:255],
        "UniqueRequestToken": request_token(hit.hit_id),
    }
    requirements = [dict(r) for r in config.qualification_requirements]
    if qualification_type_id is not None:
        requirements.append({"QualificationTypeId": qualification_type_id,
                             "Comparator": "DoesNotExist" if hit.gold else "Exists",
                             "ActionsGuarded": "DiscoverPreviewAndAccept"})
    if requirements:
        request["QualificationRequirements"] = requirements
    return request


class MalformedAnswer(ValueError):
    """An assignment's answer that is not the form's QuestionFormAnswers."""


def parse_answers(answer_xml: str, platforms: Sequence[str]) -> dict[str, str | None]:
    """The handles a worker typed, from MTurk's QuestionFormAnswers; empty means "not found".

    Fields the form did not ask for (the assignment id, a button) are ignored.

    >>> ns = ("http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
    ...       "2005-10-01/QuestionFormAnswers.xsd")
    >>> parse_answers(f'<QuestionFormAnswers xmlns="{ns}"><Answer><QuestionIdentifier>'
    ...               'twitter</QuestionIdentifier><FreeText>@ann</FreeText></Answer>'
    ...               '</QuestionFormAnswers>', ["twitter", "instagram"])
    {'twitter': '@ann', 'instagram': None}
    """
    try:
        root = ET.fromstring(answer_xml)
    except ET.ParseError as exc:
        raise MalformedAnswer(f"answer is not XML: {exc}") from None
    if _local(root.tag) != "QuestionFormAnswers":
        raise MalformedAnswer(f"answer root is {_local(root.tag)!r}, not QuestionFormAnswers")
    answers: dict[str, str | None] = dict.fromkeys(platforms)
    for node in root:
        if _local(node.tag) != "Answer":
            continue
        name = text = None
        for part in node:
            if _local(part.tag) == "QuestionIdentifier":
                name = (part.text or "").strip()
            elif _local(part.tag) == "FreeText":
                text = (part.text or "").strip()
        if name is None:
            raise MalformedAnswer("an Answer without a QuestionIdentifier")
        if name not in answers:
            continue
        if text is not None and len(text) > MAX_ANSWER_CHARS:
            raise MalformedAnswer(f"{name} answer of {len(text)} characters "
                                  f"(at most {MAX_ANSWER_CHARS})")
        answers[name] = text or None
    return answers


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True, slots=True)
class UnreadableSubmission:
    """A submitted assignment whose answer could not be read: it becomes a dead letter."""

    assignment_id: str
    hit_id: str
    worker_id: str
    answer: str
    reason: str
    submitted_at: datetime


@dataclass(slots=True)
class _Posted:
    request: HitRequest
    platform_hit_id: str
    max_assignments: int
    poll_until: datetime


@dataclass
class MTurkPlatform:
    """``CrowdPlatform`` on Mechanical Turk. ``calls`` counts the API calls made, by name."""

    client: MTurkClient
    config: MTurkConfig = field(default_factory=MTurkConfig)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    calls: Counter[str] = field(default_factory=Counter)
    unreadable: list[UnreadableSubmission] = field(default_factory=list)
    _hits: dict[str, _Posted] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)
    _approved: set[str] = field(default_factory=set)
    _qualification_types: dict[str, str] = field(default_factory=dict)  # name -> type id
    notifications: NotificationQueue | None = None
    _notifying: set[str] = field(default_factory=set)  # HIT types set up to notify
    _reconciled_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.config.name

    replays = False  # the platform keeps its own state: a restarted bridge resumes its inputs

    def now(self) -> datetime:
        return self.clock()

    # --- restarting ---------------------------------------------------------------------------

    def remember(self, hit: HitRequest, platform_hit_id: str, *,
                 max_assignments: int | None = None,
                 closed_at: datetime | None = None) -> None:
        """A HIT posted before a restart (``HitPosted`` on the log): never created again.

        ``max_assignments`` is its total after the extensions on the log (for the under-10
        rule), ``closed_at`` when it was expired (it is then polled only for the work still
        under way then)."""
        posted = self._posted(hit, platform_hit_id)
        posted.max_assignments = max_assignments or hit.max_assignments
        if closed_at is not None:
            posted.poll_until = min(posted.poll_until, self._poll_end(closed_at))
        self._hits.setdefault(hit.hit_id, posted)

    def restore(self, submissions: Iterable[Submission]) -> None:
        """Assignments already on the log: polling does not hand them out again."""
        self._seen.update(s.assignment_id for s in submissions)

    def listen(self, sqs: Any) -> None:
        """Take submissions from the configured notification queue through the SQS client
        ``sqs`` (:func:`streams.crowd.notifications.sqs_client`), with this adapter's retries."""
        if not self.config.notify_queue_url:
            raise ValueError("no notification queue configured (CROWDLOG_MTURK_NOTIFY_QUEUE)")
        self.notifications = NotificationQueue(self.config.notify_queue_url,
                                               partial(self.call_on, sqs))

    def platform_hit_id(self, hit_id: str) -> str | None:
        posted = self._hits.get(hit_id)
        return posted.platform_hit_id if posted else None

    # --- HITs ---------------------------------------------------------------------------------

    def create_hit(self, hit: HitRequest) -> str:
        """CreateHIT (once per HIT); the HIT's MTurk id."""
        known = self._hits.get(hit.hit_id)
        if known is not None:
            return known.platform_hit_id
        type_id = (self.qualification_type(hit.qualification) if hit.qualification
                   else None)
        try:
            response = self._call("create_hit", **create_hit_request(hit, self.config, type_id))
            platform_hit_id: str = response["HIT"]["HITId"]
        except PlatformRefused as exc:
            if not _already_exists(exc):
                raise
            platform_hit_id = self._existing_hit(hit.hit_id, exc)
            log.info("HIT already created; recovered its id", hit_id=hit.hit_id,
                     platform_hit_id=platform_hit_id)
        else:
            self._notify(response["HIT"].get("HITTypeId"))
        self._hits[hit.hit_id] = self._posted(hit, platform_hit_id)
        return platform_hit_id

    def create_additional_assignments(self, hit_id: str, number: int, *,
                                      unique_request_token: str | None = None) -> None:
        """CreateAdditionalAssignmentsForHIT, within the under-10 rule (see the module)."""
        posted = self._known(hit_id)
        allowed = number
        if posted.request.max_assignments < 10:
            allowed = min(number, _FEE_FREE_MAX - posted.max_assignments)
        if allowed < number:
            log.warning("extension clamped: a HIT created with fewer than 10 assignments "
                        "cannot have 10 or more", hit_id=hit_id, asked=number, added=allowed)
        if allowed <= 0:
            return
        request: dict[str, Any] = {"HITId": posted.platform_hit_id,
                                   "NumberOfAdditionalAssignments": allowed}
        if unique_request_token:
            request["UniqueRequestToken"] = _bounded_token(unique_request_token)
        try:
            self._call("create_additional_assignments_for_hit", **request)
        except PlatformRefused as exc:
            if not _already_exists(exc):
                raise
        posted.max_assignments += allowed
        posted.poll_until = max(posted.poll_until, self._poll_end(self.now()))

    def expire_hit(self, hit_id: str, at: datetime) -> None:
        """UpdateExpirationForHIT: a time now or past expires the HIT at once."""
        posted = self._known(hit_id)
        self._call("update_expiration_for_hit", HITId=posted.platform_hit_id, ExpireAt=at)
        posted.poll_until = self._poll_end(max(at, self.now()))

    # --- assignments and workers ----------------------------------------------------------------

    def approve_assignment(self, assignment_id: str) -> None:
        if assignment_id in self._approved:
            return
        try:
            self._call("approve_assignment", AssignmentId=assignment_id)
        except PlatformRefused:
            if self.assignment_status(assignment_id) != "Approved":
                raise
        self._approved.add(assignment_id)

    def reject_assignment(self, assignment_id: str, reason: str) -> None:
        try:
            self._call("reject_assignment", AssignmentId=assignment_id,
                       RequesterFeedback=reason[:1024] or "rejected")
        except PlatformRefused:
            if self.assignment_status(assignment_id) != "Rejected":
                raise

    def assignment_status(self, assignment_id: str) -> str:
        """``Submitted``, ``Approved`` or ``Rejected`` (GetAssignment, unless we approved it)."""
        if assignment_id in self._approved:
            return "Approved"
        response = self._call("get_assignment", AssignmentId=assignment_id)
        return str(response["Assignment"]["AssignmentStatus"])

    def block_worker(self, worker_id: str, reason: str, at: datetime) -> None:
        """CreateWorkerBlock (at once: the platform cannot block from a time)."""
        self._call("create_worker_block", WorkerId=worker_id, Reason=reason or "blocked")

    def grant_qualification(self, worker_id: str, qualification: str, at: datetime) -> None:
        """AssociateQualificationWithWorker, silently (at once; granting again is harmless)."""
        self._call("associate_qualification_with_worker",
                   QualificationTypeId=self.qualification_type(qualification),
                   WorkerId=worker_id, IntegerValue=1, SendNotification=False)

    def revoke_qualification(self, worker_id: str, qualification: str, reason: str,
                             at: datetime) -> None:
        """DisassociateQualificationFromWorker (at once), the reason shown to the worker.
        Revoking again is harmless: a refusal for a worker who no longer holds it is done."""
        type_id = self.qualification_type(qualification)
        try:
            self._call("disassociate_qualification_from_worker", QualificationTypeId=type_id,
                       WorkerId=worker_id, Reason=reason[:1000] or "qualification withdrawn")
        except PlatformRefused:
            if self._holds(worker_id, type_id):
                raise

    def _holds(self, worker_id: str, type_id: str) -> bool:
        """Whether the worker holds the qualification now (GetQualificationScore; MTurk
        refuses the call for a worker it was never granted to)."""
        try:
            response = self._call("get_qualification_score", QualificationTypeId=type_id,
                                  WorkerId=worker_id)
        except PlatformRefused:
            return False
        return str(response["Qualification"].get("Status")) == "Granted"

    def qualification_type(self, name: str) -> str:
        """The id of the qualification type ``name``: configured, found, or created once."""
        known = self._qualification_types.get(name) or self.config.qualification_type_id
        if known is None:
            known = self._find_qualification_type(name)
        if known is None:
            try:
                response = self._call(
                    "create_qualification_type", Name=name, QualificationTypeStatus="Active",
                    Description="Granted by crowdlog to workers whose answers to tasks with "
                                "known answers were good enough; required by its paid tasks.")
                known = str(response["QualificationType"]["QualificationTypeId"])
            except PlatformRefused:  # created meanwhile by another process: use theirs
                known = self._find_qualification_type(name)
                if known is None:
                    raise
        self._qualification_types[name] = known
        return known

    def _find_qualification_type(self, name: str) -> str | None:
        token: str | None = None
        while True:
            response = self._call("list_qualification_types", Query=name,
                                  MustBeRequestable=False, MustBeOwnedByCaller=True,
                                  MaxResults=100, **({"NextToken": token} if token else {}))
            for found in response.get("QualificationTypes", []):
                if found.get("Name") == name:
                    return str(found["QualificationTypeId"])
            token = response.get("NextToken")
            if not token:
                return None

    # --- submissions ----------------------------------------------------------------------------

    def advance(self, until: datetime) -> list[Submission]:
        """New submissions of every HIT still taking or finishing work at ``until``.

        Without a notification queue, or when a full poll is due (the first round, then
        every ``reconcile_seconds``), ListAssignmentsForHIT of every such HIT, page by page.
        Otherwise the submissions the queue announced, one GetAssignment each. A HIT is
        polled until its expiry plus the assignment duration (work accepted before the
        expiry may still be submitted). An answer that cannot be read goes to ``unreadable``.

        An assignment is handed out once, and only by a round whose every call succeeded: a
        round that fails part-way (the platform away after every retry) hands out nothing,
        so the bridge's retry finds the same assignments again.
        """
        queue = self.notifications
        due = (self._reconciled_at is None or until >= self._reconciled_at
               + timedelta(seconds=self.config.reconcile_seconds))
        if queue is None or due:
            read = self._polled(until)
            self._reconciled_at = until
        else:
            read = self._notified(queue)
        self._seen.update(read)
        found = []
        for item in read.values():
            if isinstance(item, UnreadableSubmission):
                self.unreadable.append(item)
                log.warning("unreadable answer", hit_id=item.hit_id,
                            assignment_id=item.assignment_id, reason=item.reason)
            else:
                found.append(item)
        return sorted(found, key=lambda s: (s.submitted_at, s.hit_id, s.assignment_id))

    def _polled(self, until: datetime) -> dict[str, Submission | UnreadableSubmission]:
        """Every assignment not yet handed out of every HIT still polled at ``until``."""
        read: dict[str, Submission | UnreadableSubmission] = {}
        for posted in list(self._hits.values()):
            if posted.poll_until < until:
                continue
            for assignment in self._assignments(posted.platform_hit_id):
                if assignment["AssignmentId"] not in self._seen:
                    read[assignment["AssignmentId"]] = self._read(posted.request, assignment)
        return read

    def _notified(self, queue: NotificationQueue) -> dict[str, Submission | UnreadableSubmission]:
        """The assignments the queue announced, then the queue's messages deleted."""
        notified, receipts = queue.receive()
        by_platform_id = {posted.platform_hit_id: posted for posted in self._hits.values()}
        read: dict[str, Submission | UnreadableSubmission] = {}
        for note in notified:
            posted = by_platform_id.get(note.platform_hit_id)
            if posted is None or note.assignment_id in self._seen or note.assignment_id in read:
                continue  # not one of ours, or already handed out
            try:
                response = self._call("get_assignment", AssignmentId=note.assignment_id)
            except PlatformRefused as exc:
                log.warning("notified assignment not readable; the next full poll covers it",
                            assignment_id=note.assignment_id, code=exc.code)
                continue
            read[note.assignment_id] = self._read(posted.request, response["Assignment"])
        queue.delete(receipts)
        return read

    def next_submission_at(self) -> datetime | None:
        """Unknown on a real platform: it is polled."""
        return None

    def _assignments(self, platform_hit_id: str) -> Iterable[Mapping[str, Any]]:
        token: str | None = None
        while True:
            page = {"NextToken": token} if token else {}
            response = self._call("list_assignments_for_hit", HITId=platform_hit_id,
                                  MaxResults=100, **page)
            yield from response.get("Assignments", [])
            token = response.get("NextToken")
            if not token:
                return

    def _read(self, hit: HitRequest,
              assignment: Mapping[str, Any]) -> Submission | UnreadableSubmission:
        accepted = assignment.get("AcceptTime") or assignment.get("SubmitTime") or self.now()
        submitted = assignment.get("SubmitTime") or accepted
        answer = str(assignment.get("Answer", ""))
        try:
            answers = parse_answers(answer, hit.platforms)
        except MalformedAnswer as exc:
            return UnreadableSubmission(assignment["AssignmentId"], hit.hit_id,
                                        assignment.get("WorkerId", ""), answer, str(exc),
                                        submitted)
        return Submission(assignment_id=assignment["AssignmentId"], hit_id=hit.hit_id,
                          worker_id=assignment["WorkerId"], answers=answers,
                          accepted_at=accepted, submitted_at=submitted)

    # --- calls ----------------------------------------------------------------------------------

    def _call(self, operation: str, **request: Any) -> Any:
        """One Mechanical Turk call (:meth:`call_on` its client)."""
        return self.call_on(self.client, operation, **request)

    def call_on(self, client: Any, operation: str, **request: Any) -> Any:
        """One API call on ``client`` (Mechanical Turk's, or the notification queue's SQS
        client): throttling and faults retried with backoff, refusals raised at once."""
        for attempt in range(1, self.config.attempts + 1):
            self.calls[operation] += 1
            try:
                return getattr(client, operation)(**request)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code, message = str(error.get("Code", "")), str(error.get("Message", ""))
                if code not in _RETRIED:
                    raise PlatformRefused(operation, code, message) from None
                problem = f"{code}: {message}"
            except BotoCoreError as exc:  # connection refused, timed out, DNS
                problem = type(exc).__name__
            if attempt == self.config.attempts:
                break
            wait = min(self.config.max_backoff_seconds,
                       self.config.backoff_seconds * 2 ** (attempt - 1))
            wait *= random.uniform(0.5, 1.0)
            log.warning("mturk call failed; retrying", operation=operation, attempt=attempt,
                        problem=problem, wait=round(wait, 2))
            self.sleep(wait)
        raise PlatformUnavailable(f"{operation} failed {self.config.attempts} times: {problem}")

    def _notify(self, hit_type_id: str | None) -> None:
        """Set a HIT type up to announce its submissions on the queue, once per type.

        A refusal (a queue Mechanical Turk may not write to) or an outage does not undo the
        HIT just created: it is logged, the HIT's submissions come with the full polls
        until a later HIT of the type sets it up."""
        if self.notifications is None or not hit_type_id or hit_type_id in self._notifying:
            return
        try:
            self._call("update_notification_settings", HITTypeId=hit_type_id,
                       Notification=notification(self.notifications.queue_url), Active=True)
        except (PlatformRefused, PlatformUnavailable) as exc:
            log.warning("HIT type not set up to notify; its submissions wait for full polls",
                        hit_type_id=hit_type_id, problem=str(exc))
            return
        self._notifying.add(hit_type_id)

    def _known(self, hit_id: str) -> _Posted:
        posted = self._hits.get(hit_id)
        if posted is None:
            raise PlatformRefused("lookup", "UnknownHIT", f"HIT {hit_id} was never posted")
        return posted

    def _posted(self, hit: HitRequest, platform_hit_id: str) -> _Posted:
        lifetime_end = hit.created_at + timedelta(seconds=hit.lifetime_seconds)
        return _Posted(hit, platform_hit_id, hit.max_assignments, self._poll_end(lifetime_end))

    def _poll_end(self, expiry: datetime) -> datetime:
        return expiry + timedelta(seconds=self.config.assignment_duration_seconds)

    def _existing_hit(self, hit_id: str, refusal: PlatformRefused) -> str:
        """The HIT an earlier CreateHIT with our token made: named in the refusal, or found
        by our id in its RequesterAnnotation."""
        named = _HIT_ID.search(refusal.message)
        if named:
            return named.group(0)
        token: str | None = None
        while True:
            response = self._call("list_hits", MaxResults=100,
                                  **({"NextToken": token} if token else {}))
            for hit in response.get("HITs", []):
                if hit.get("RequesterAnnotation") == hit_id[:255]:
                    found: str = hit["HITId"]
                    return found
            token = response.get("NextToken")
            if not token:
                raise refusal


def _already_exists(refusal: PlatformRefused) -> bool:
    """The refusal of a request whose UniqueRequestToken was already used: it was done."""
    text = refusal.message.lower()
    return "already exists" in text or "uniquerequesttoken" in text or "already been" in text


def _bounded_token(token: str) -> str:
    return token if len(token) <= _TOKEN_CHARS else hashlib.sha256(token.encode()).hexdigest()
