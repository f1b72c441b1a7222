"""When a drain may end (``streams.consumer.caught_up``), without a broker: only once every
assigned partition has had a fetch answered and is read to the watermark it reported."""

from __future__ import annotations

from typing import cast

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.consumer import caught_up

INVALID = -1001  # librdkafka's "no offset yet", for positions and cached watermarks alike


class _Partitions:
    """The three calls ``caught_up`` makes, over fixed positions and cached watermarks."""

    def __init__(self, state: dict[int, tuple[int, int]]) -> None:
        self._state = state  # partition -> (position, cached high watermark)

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition("t", p) for p in self._state]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition("t", tp.partition, self._state[tp.partition][0])
                for tp in partitions]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        assert cached, "asking the broker would queue behind the consumer's own fetches"
        high = self._state[tp.partition][1]
        return (INVALID if high == INVALID else 0), high


@pytest.mark.parametrize(("state", "expected"), [
    ({}, False),  # not assigned yet: joining the group
    ({0: (INVALID, INVALID)}, False),  # assigned, no fetch answered yet
    ({0: (INVALID, 0), 1: (INVALID, INVALID)}, False),  # one partition still unanswered
    ({0: (3, 7)}, False),  # read up to 3 of 7
    ({0: (7, 7), 1: (INVALID, 0)}, True),  # one read to its end, one empty
    ({0: (INVALID, 5)}, True),  # answered, nothing read, a poll brought nothing: at the end
])
def test_caught_up(state: dict[int, tuple[int, int]], expected: bool) -> None:
    assert caught_up(cast(Consumer, _Partitions(state))) is expected
