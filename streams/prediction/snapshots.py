"""Signed snapshot files: a pickle is only unpickled once its HMAC-SHA256 tag checks out.

Why a signed pickle and not the models' parameters: a snapshot must bring back exactly the
model that was saved, so that a restarted service goes on with the same predictions and ids.
For the linear pipeline that is every scaler's running moments, the one-hot vocabulary, the
weights and AdaGrad's per-weight accumulators; for the Mondrian forest it is every tree's
splits, ranges and node statistics and its random generator's state. River exposes none of
that as a stable parameter format, so a hand-written one would have to follow River's private
attributes release by release, and a forest restored without its generator state would drift
from a replayed one. Pickle restores all of it faithfully. What makes pickle dangerous is
loading bytes someone else wrote (unpickling runs code the bytes choose), and a key check
before unpickling removes exactly that: only a holder of the service's key can write a
snapshot this service will unpickle.

A file is a fixed header, then the pickle::

    magic (8 bytes) | format version (2, big-endian) | payload length (8) | tag (32) | payload

The tag is HMAC-SHA256 over the header's first three fields and the payload, so neither the
version nor a byte of the payload can change without the tag failing. The version and length
are read before the tag is checked only to say why a file is refused (an older format, a
truncated write); nothing is unpickled before :func:`verify` has compared the tag.

The key is the UTF-8 bytes of ``CROWDLOG_SNAPSHOT_KEY`` when it is set (and not empty), else
of the key file's contents without surrounding whitespace; the file is made on first use with
random contents and mode 0600. The two are read the same way so the key file's contents can be
moved into the variable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path

import structlog

from streams.settings import state_dir

log = structlog.get_logger(__name__)

KEY_ENV = "CROWDLOG_SNAPSHOT_KEY"
# Shorter keys are typed by hand and guessable; the key file holds 64 hex characters.
MIN_KEY_BYTES = 16
MAGIC = b"CLSNAP\r\n"  # a text-mode or line-ending mangled copy fails here, not later
_HEADER = struct.Struct(">8sHQ")
_TAG_BYTES = hashlib.sha256().digest_size


class SnapshotError(ValueError):
    """A snapshot file that must not be used; the message says why."""


def default_key_file() -> Path:
    """The key file beside the prediction snapshots, in the process's own state directory
    (not the snapshot directory, which ``--snapshot-dir`` may point at shared storage)."""
    return state_dir() / "prediction" / "snapshot.key"


def load_key(key_file: Path, environ: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """The signing key and where it came from (the variable's name or the file's path).

    Raises ``ValueError`` for a key shorter than ``MIN_KEY_BYTES``: a service that cannot
    trust its key must not start, since it could neither read nor write a snapshot safely.
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return _checked(env[KEY_ENV].encode(), KEY_ENV), KEY_ENV
    if not key_file.exists():
        _create_key_file(key_file)
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        log.warning("snapshot key file is readable by others", file=str(key_file),
                    mode=oct(mode))
    return _checked(key_file.read_bytes().strip(), str(key_file)), str(key_file)


def _checked(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the snapshot key from {source} is shorter than {MIN_KEY_BYTES} "
                         "bytes; use e.g. python -c 'import secrets; "
                         "print(secrets.token_hex(32))'")
    return key


def _create_key_file(path: Path) -> None:
    """Write a random key to ``path`` with mode 0600, whole or not at all.

    The key goes into a private temporary file (``mkstemp`` creates it 0600) that is then
    hard-linked to ``path``: the link fails if ``path`` exists, so two services starting
    together (one per model) agree on the first key written, and neither ever reads a key
    file the other has created but not yet filled.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_hex(32).encode())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another service made it first: both use that one
        log.info("snapshot key file created", file=str(path))
    finally:
        os.unlink(temporary)


def sign(payload: bytes, key: bytes, *, version: int) -> bytes:
    """``payload`` behind a header whose tag ``verify`` checks with the same key."""
    header = _HEADER.pack(MAGIC, version, len(payload))
    return header + hmac.new(key, header + payload, hashlib.sha256).digest() + payload


def verify(data: bytes, key: bytes, *, version: int) -> bytes:
    """The payload of a file ``sign`` wrote with ``key`` and ``version``.

    Raises ``SnapshotError`` naming the first check that failed; the payload is returned
    (and so can be unpickled) only when the tag matches.
    """
    if len(data) < _HEADER.size + _TAG_BYTES or not data.startswith(MAGIC):
        raise SnapshotError("not a signed snapshot (an unsigned pickle from before snapshots "
                            "were signed, or not a snapshot at all)")
    _, found, length = _HEADER.unpack_from(data)
    if found != version:
        raise SnapshotError(f"snapshot format {found}, this service reads format {version}")
    header, tag = data[:_HEADER.size], data[_HEADER.size:_HEADER.size + _TAG_BYTES]
    payload = data[_HEADER.size + _TAG_BYTES:]
    if len(payload) < length:
        raise SnapshotError(f"truncated: {len(payload)} of {length} payload bytes")
    expected = hmac.new(key, header + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise SnapshotError("signature does not match: the file was altered, or signed "
                            "with another key")
    return payload
