"""Prediction snapshots: signed, checked before they are unpickled, written atomically, and a
bad one never stops the service (it falls back to the previous good one)."""

from __future__ import annotations

import os
import pickle
import shlex
import stat
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from streams.prediction import service, snapshots
from streams.prediction.core import SNAPSHOT_FORMAT, Athlete, PredictionConfig, PredictionState
from streams.prediction.features import ProfileFacts
from streams.prediction.service import SnapshotStore
from streams.prediction.snapshots import SnapshotError, load_key, sign

KEY = b"the service's key, 32 bytes long"
WRONG_KEY = b"somebody else's key, also long.."
POSITION = {("prediction.outcomes", 0): 12, ("records.received", 3): 7}
Logs = list[MutableMapping[str, Any]]


def _state(model: str = "linear", outcomes: int = 12) -> PredictionState:
    """A state that has learned ``outcomes`` outcomes of two athletes."""
    state = PredictionState.fresh(PredictionConfig(model=model))
    for number, (entity, sport, followers) in enumerate(
            [("acme:a", "golf", 30_000), ("acme:b", "basketball", 2_000_000)]):
        facts = ProfileFacts("instagram", followers, 300, 900, followers * 0.03, True, "athlete")
        state.athletes[entity] = Athlete(f"record-{number}", sport, "NBA", "US",
                                         {"instagram": (f"profile-{number}", facts)})
    for number in range(outcomes):
        athlete = state.athletes["acme:a" if number % 2 else "acme:b"]
        features = athlete.features()
        assert features is not None
        state.model.learn(features, 100.0 * (1 + number % 5) * (20 if number % 2 else 1))
        state.learned.add(f"outcome-{number}")
    return state


def _same(one: PredictionState, other: PredictionState) -> None:
    assert one.athletes == other.athletes and one.learned == other.learned
    assert one.model.metrics() == other.model.metrics()
    for athlete in one.athletes.values():
        features = athlete.features()
        assert features is not None
        assert one.model.predict(features) == other.model.predict(features)


@pytest.fixture
def logs() -> Iterator[Logs]:
    """What the snapshot code logs. Fresh loggers: a logger already used in this process may
    be cached with the real configuration (``cache_logger_on_first_use``) and bypass capture."""
    with capture_logs() as captured, pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "log", structlog.get_logger(service.__name__))
        patch.setattr(snapshots, "log", structlog.get_logger(snapshots.__name__))
        yield captured


def _skipped(logs: Logs) -> Logs:
    return [line for line in logs if line["event"] == "prediction snapshot skipped"]


class _MakesAFile:
    """A pickle whose loading runs a shell command: what a forged snapshot would hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.mark.parametrize("model", ["linear", "forest"])
def test_a_snapshot_round_trips_with_model_athletes_and_position(tmp_path: Path,
                                                                 model: str) -> None:
    state = _state(model)
    SnapshotStore(tmp_path, KEY).save(state, POSITION)
    latest = SnapshotStore(tmp_path, KEY).latest()  # as a restarted service reads it
    assert latest is not None
    restored, position = latest
    assert position == POSITION and restored.outcomes == state.outcomes == 12
    _same(restored, state)
    features = state.athletes["acme:a"].features()
    assert features is not None  # and both go on learning alike
    assert restored.model.learn(features, 5_000.0) == state.model.learn(features, 5_000.0)
    _same(restored, state)


def test_a_snapshot_with_any_one_byte_flipped_is_refused_before_unpickling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _state(outcomes=3).snapshot(POSITION, KEY)

    def never(_data: bytes) -> object:
        raise AssertionError("a snapshot that failed its checks was unpickled")

    monkeypatch.setattr(pickle, "loads", never)
    for index in range(len(data)):
        tampered = bytearray(data)
        tampered[index] ^= 0x01
        with pytest.raises(SnapshotError):
            PredictionState.restore(bytes(tampered), KEY)


def test_a_forged_snapshot_runs_no_code(tmp_path: Path, logs: Logs) -> None:
    """A pickle that would create a file when loaded, signed with the wrong key or signed
    with the right one and then altered, is refused and the file never appears."""
    marker = tmp_path / "code-ran"
    payload = pickle.dumps(_MakesAFile(marker))
    directory = tmp_path / "snapshots"
    store = SnapshotStore(directory, KEY)
    store.save(_state(), POSITION)
    forged = directory / "000000099-000000001.snapshot"
    forged.write_bytes(sign(payload, WRONG_KEY, version=SNAPSHOT_FORMAT))
    altered = bytearray(sign(payload, KEY, version=SNAPSHOT_FORMAT))
    altered[-2] ^= 0x01  # inside the pickle's command string
    (directory / "000000099-000000002.snapshot").write_bytes(bytes(altered))
    latest = SnapshotStore(directory, KEY).latest()
    assert latest is not None and latest[1] == POSITION  # the good one, older than both
    assert [line["reason"] for line in _skipped(logs)] == [
        "signature does not match: the file was altered, or signed with another key"] * 2
    with pytest.raises(SnapshotError, match="signature"):
        PredictionState.restore(forged.read_bytes(), KEY)
    assert not marker.exists()
    pickle.loads(payload)  # the control: unpickled, the forged payload does run its command
    assert marker.exists()


def test_a_truncated_newest_snapshot_falls_back_to_the_previous_good_one(
        tmp_path: Path, logs: Logs) -> None:
    store = SnapshotStore(tmp_path, KEY)
    store.save(_state(outcomes=4), {("prediction.outcomes", 0): 4})
    newest = store.save(_state(outcomes=8), {("prediction.outcomes", 0): 8})
    newest.write_bytes(newest.read_bytes()[:-100])  # a write torn by a disk fault
    restarted = SnapshotStore(tmp_path, KEY)
    latest = restarted.latest()
    assert latest is not None
    restored, position = latest
    assert position == {("prediction.outcomes", 0): 4} and restored.outcomes == 4
    [warning] = _skipped(logs)
    assert warning["log_level"] == "warning" and warning["file"] == str(newest)
    assert warning["reason"].startswith("truncated: ")
    assert restarted.latest() is not None and len(_skipped(logs)) == 1  # warned about once
    # The next snapshot is the newest again; the bad one ages out like any other.
    saved = restarted.save(restored, {("prediction.outcomes", 0): 5})
    assert restarted.files()[-1] == saved and restarted.files()[-2] == newest


def test_with_no_good_snapshot_the_service_starts_from_the_beginning(
        tmp_path: Path, logs: Logs) -> None:
    store = SnapshotStore(tmp_path, KEY)
    for outcomes in (2, 4):
        store.save(_state(outcomes=outcomes), POSITION)
    for path in store.files():
        path.write_bytes(b"")
    assert SnapshotStore(tmp_path, KEY).latest() is None  # a fresh model, position {}
    assert [line["file"] for line in _skipped(logs)] == [str(p) for p in
                                                          reversed(store.files())]


def test_a_snapshot_signed_with_another_key_is_skipped(tmp_path: Path,
                                                       logs: Logs) -> None:
    SnapshotStore(tmp_path, KEY).save(_state(), POSITION)
    assert SnapshotStore(tmp_path, WRONG_KEY).latest() is None
    [warning] = _skipped(logs)
    assert "signed with another key" in warning["reason"]
    assert SnapshotStore(tmp_path, KEY).latest() is not None


@pytest.mark.parametrize(("data", "reason"), [
    (pickle.dumps({"format": 1, "state": None, "position": {}}), "not a signed snapshot"),
    (sign(b"", KEY, version=SNAPSHOT_FORMAT + 1), f"snapshot format {SNAPSHOT_FORMAT + 1}"),
    (sign(b"not a pickle", KEY, version=SNAPSHOT_FORMAT), "does not unpickle"),
    (sign(pickle.dumps({"state": "a string", "position": {}}), KEY, version=SNAPSHOT_FORMAT),
     "does not hold a prediction state"),
    (sign(pickle.dumps({"state": _state(outcomes=0), "position": {"topic": "0"}}), KEY,
          version=SNAPSHOT_FORMAT), "does not hold a prediction state"),
])
def test_each_check_names_its_reason(data: bytes, reason: str) -> None:
    """An unsigned pickle (every snapshot before this format), another format version, and
    signed bytes that are not a state and a position are all refused."""
    with pytest.raises(SnapshotError, match=reason):
        PredictionState.restore(data, KEY)


def test_a_crash_while_writing_leaves_the_previous_snapshot_the_newest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SnapshotStore(tmp_path, KEY)
    good = store.save(_state(outcomes=4), POSITION)

    def power_cut(_descriptor: int) -> None:
        raise OSError("the disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", power_cut)
        with pytest.raises(OSError, match="disk went away"):
            store.save(_state(outcomes=8), POSITION)
    assert store.files() == [good] and sorted(tmp_path.iterdir()) == [good]
    # A process killed between writing and renaming leaves its temporary file: never read
    # as a snapshot, and cleared when the store next opens.
    leftover = tmp_path / f".000000008-000000001.snapshot{SnapshotStore._PARTIAL}"
    leftover.write_bytes(b"half a snap")
    restarted = SnapshotStore(tmp_path, KEY)
    assert not leftover.exists()
    latest = restarted.latest()
    assert latest is not None and latest[0].outcomes == 4


def test_a_missing_key_file_is_created_private_and_then_reused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: Logs) -> None:
    monkeypatch.setenv("CROWDLOG_STATE_DIR", str(tmp_path))
    key_file = snapshots.default_key_file()
    assert key_file == tmp_path / "prediction" / "snapshot.key"
    key, source = load_key(key_file, environ={})
    assert source == str(key_file) and len(key) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(key_file, environ={}) == (key, source)  # the same key on every start
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["snapshot.key"]
    assert not any(key.decode() in repr(line) for line in logs)  # never logged
    key_file.chmod(0o644)
    assert load_key(key_file, environ={})[0] == key
    [warning] = [line for line in logs if line["log_level"] == "warning"]
    assert warning["file"] == str(key_file) and warning["mode"] == "0o644"


def test_the_key_variable_wins_and_a_short_key_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "snapshot.key"
    assert load_key(key_file, environ={"CROWDLOG_SNAPSHOT_KEY": KEY.decode()}) == (
        KEY, "CROWDLOG_SNAPSHOT_KEY")
    assert not key_file.exists()
    with pytest.raises(ValueError, match="shorter than 16 bytes"):
        load_key(key_file, environ={"CROWDLOG_SNAPSHOT_KEY": "secret"})
    key_file.write_text("short\n")
    with pytest.raises(ValueError, match=str(key_file)):
        load_key(key_file, environ={})
