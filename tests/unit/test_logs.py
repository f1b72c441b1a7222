"""Log lines written while an event is handled carry the event's coordinates."""

from streams.logs import Handling, add_event_context, handling


def test_adds_the_event_being_handled() -> None:
    token = handling.set(Handling("abc", "records.received", 2, 41))
    try:
        line = add_event_context(None, "info", {"event": "hello"})
    finally:
        handling.reset(token)
    assert line == {"event": "hello", "event_id": "abc", "topic": "records.received",
                    "partition": 2, "offset": 41}


def test_outside_an_event_nothing_is_added() -> None:
    assert add_event_context(None, "info", {"event": "hello"}) == {"event": "hello"}
