"""Every cipher voiceapp uses, in one module short enough to audit in one sitting.

Threat model
------------
What we protect: the words, scores, choices, voice notes and drawings a child (or an advocate
for them) sends to a Child Protection Conference chair.

- A copy of the database or a backup must reveal none of it. Sent views are sealed to the
  public keys of the people allowed to read them (the chair, the organisation's offline
  recovery key, and an advocate only if the child agreed); the server keeps no key that
  opens them. Drafts are sealed under a key derived from the child's cookie, which the
  database never sees.
- Rows must not be swapped or edited unnoticed: every ciphertext is bound, through AES-GCM
  associated data and the HPKE ``info``, to the ids of the row it belongs to and to the format
  version. Attachments are sealed in chunks whose nonces count and mark the last chunk (the
  STREAM construction), so truncation and reordering are detected.
- Children's records must stay secret for decades, so the key encapsulation is the
  post-quantum hybrid ML-KEM-768 + X25519 (HPKE, RFC 9180): captured data stays safe unless
  both are broken.
- A stolen private-key blob must not be cheap to guess: private keys are stored wrapped under
  Argon2id (64 MiB or more) from the owner's passphrase.

Not defended here: a live server that an attacker controls while a chair has unlocked their
key (it sees what the chair reads), and secrets lingering in Python's memory, which cannot be
reliably wiped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = 1
CHUNK_SIZE = 64 * 1024
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_MLKEM_SEED_SIZE = 64
_X25519_SIZE = 32
_MLKEM_PUBLIC_SIZE = 1184
PRIVATE_KEY_SIZE = _MLKEM_SEED_SIZE + _X25519_SIZE
PUBLIC_KEY_SIZE = _MLKEM_PUBLIC_SIZE + _X25519_SIZE

_STREAM_PREFIX_SIZE = 7
_STREAM_HEADER = struct.Struct(f">B{_STREAM_PREFIX_SIZE}s")
_KDF_HEADER = struct.Struct(">BIII16s")


class DecryptionError(Exception):
    """The data was tampered with, truncated, reordered, or opened with the wrong key."""


class WrongPassphrase(DecryptionError):
    """The passphrase does not unwrap this private key."""


# ---------------------------------------------------------------------------------------
# Contexts: what a ciphertext is bound to


def context(purpose: str, **ids: object) -> bytes:
    """The associated data that binds a ciphertext to its row, its purpose and the format.

    Canonical JSON, so the same ids always give the same bytes and no two different sets of
    ids can collide.
    """
    fields = {"format": FORMAT_VERSION, "purpose": purpose, **{k: str(v) for k, v in ids.items()}}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose from a high-entropy secret (HKDF-SHA256)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None,
        info=b"voiceapp/v1/" + purpose.encode(),
    ).derive(secret)


def random_key() -> bytes:
    return os.urandom(KEY_SIZE)


# ---------------------------------------------------------------------------------------
# Secret boxes: AES-256-GCM under a symmetric key


def seal_secret(plaintext: bytes, key: bytes, ad: bytes) -> bytes:
    """version || nonce || AES-256-GCM(plaintext), bound to ``ad``."""
    nonce = os.urandom(NONCE_SIZE)
    header = bytes([FORMAT_VERSION]) + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, header + ad)


def open_secret(blob: bytes, key: bytes, ad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[0] != FORMAT_VERSION:
        raise DecryptionError("unknown format or truncated")
    header, body = blob[: 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        return AESGCM(key).decrypt(header[1:], body, header + ad)
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


# ---------------------------------------------------------------------------------------
# Recipient keys: HPKE with ML-KEM-768 + X25519


def generate_private_key() -> bytes:
    """A new recipient private key: the ML-KEM-768 seed followed by the X25519 scalar."""
    seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
    return seed + x25519.X25519PrivateKey.generate().private_bytes_raw()


def _private(key: bytes) -> hpke.MLKEM768X25519PrivateKey:
    if len(key) != PRIVATE_KEY_SIZE:
        raise DecryptionError("not a private key")
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(key[:_MLKEM_SEED_SIZE]),
        x25519.X25519PrivateKey.from_private_bytes(key[_MLKEM_SEED_SIZE:]),
    )


def public_key_of(private_key: bytes) -> bytes:
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise ValueError("not a private key")
    ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_key[:_MLKEM_SEED_SIZE])
    xk = x25519.X25519PrivateKey.from_private_bytes(private_key[_MLKEM_SEED_SIZE:])
    return ml.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()


def key_id_of(public_key: bytes) -> str:
    """A short, stable name for a public key, stored beside everything sealed to it."""
    return hashlib.sha256(b"voiceapp key id\x00" + public_key).hexdigest()[:32]


def key_fingerprint(public_key: bytes) -> str:
    """The whole SHA-256 of a public key, in groups of four, for people to compare and pin."""
    digest = hashlib.sha256(b"voiceapp key fingerprint\x00" + public_key).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed or pasted (any spacing, colons or case), as printed."""
    compact = "".join(ch for ch in text.lower() if ch in "0123456789abcdef")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _public(key: bytes) -> hpke.MLKEM768X25519PublicKey:
    if len(key) != PUBLIC_KEY_SIZE:
        raise ValueError("not a voiceapp public key")
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(key[:_MLKEM_PUBLIC_SIZE]),
        x25519.X25519PublicKey.from_public_bytes(key[_MLKEM_PUBLIC_SIZE:]),
    )


@dataclass(frozen=True)
class Recipient:
    """Someone a submission can be sealed to: a key id and its public key."""

    key_id: str
    public_key: bytes


def _hpke_info(ad: bytes, key_id: str) -> bytes:
    return ad + b"\x00recipient:" + key_id.encode()


def wrap_content_key(content_key: bytes, recipient: Recipient, ad: bytes) -> bytes:
    """Seal a content key to one recipient (HPKE base mode, fresh ephemeral key each time)."""
    return _SUITE.encrypt(content_key, _public(recipient.public_key),
                          info=_hpke_info(ad, recipient.key_id))


def unwrap_content_key(wrapped: bytes, key_id: str, private_key: bytes, ad: bytes) -> bytes:
    try:
        key = _SUITE.decrypt(wrapped, _private(private_key), info=_hpke_info(ad, key_id))
    except (InvalidTag, ValueError):
        raise DecryptionError("this key cannot open this submission") from None
    if len(key) != KEY_SIZE:
        raise DecryptionError("malformed content key")
    return key


# ---------------------------------------------------------------------------------------
# Envelopes: one content key per submission, wrapped for each recipient


@dataclass(frozen=True)
class Envelope:
    ciphertext: bytes
    wrapped_keys: dict[str, bytes]
    content_key: bytes

    def __repr__(self) -> str:  # never print the key
        return f"Envelope({len(self.ciphertext)} bytes, recipients={sorted(self.wrapped_keys)})"


def seal_for_recipients(plaintext: bytes, recipients: Iterable[Recipient], ad: bytes) -> Envelope:
    """Seal ``plaintext`` under a fresh content key and wrap that key for every recipient.

    ``ad`` (from :func:`context`) binds the ciphertext and every wrapped key to the
    submission and conference ids, so rows cannot be swapped.
    """
    recipients = list(recipients)
    if not recipients:
        raise ValueError("a submission needs at least one recipient")
    content_key = random_key()
    return Envelope(
        ciphertext=seal_secret(plaintext, content_key, ad),
        wrapped_keys={r.key_id: wrap_content_key(content_key, r, ad) for r in recipients},
        content_key=content_key,
    )


def open_envelope(ciphertext: bytes, wrapped_key: bytes, key_id: str, private_key: bytes,
                  ad: bytes) -> tuple[bytes, bytes]:
    """Return (plaintext, content key) or raise :class:`DecryptionError`."""
    content_key = unwrap_content_key(wrapped_key, key_id, private_key, ad)
    return open_secret(ciphertext, content_key, ad), content_key


# ---------------------------------------------------------------------------------------
# Attachments: chunked STREAM encryption, flat memory whatever the size


def new_stream_header() -> bytes:
    return _STREAM_HEADER.pack(FORMAT_VERSION, os.urandom(_STREAM_PREFIX_SIZE))


def _stream_nonce(header: bytes, index: int, last: bool) -> bytes:
    if len(header) != _STREAM_HEADER.size or header[0] != FORMAT_VERSION:
        raise DecryptionError("unknown stream format")
    if not 0 <= index < 2**32:
        raise DecryptionError("chunk index out of range")
    return header[1:] + struct.pack(">I?", index, last)


class StreamSealer:
    """Encrypt a stream that arrives in pieces of any size, in chunks of CHUNK_SIZE.

    :meth:`feed` returns the chunks that are complete, :meth:`finish` the last one. A full
    chunk is only sealed once more data proves it is not the last, so at most one chunk
    (plus a partial one) is ever held; whole chunks are sealed straight from the piece
    they arrived in, without copying.
    """

    def __init__(self, key: bytes, header: bytes, ad: bytes) -> None:
        self._aead = AESGCM(key)
        self._header = header
        self._ad = ad
        self._partial = bytearray()
        self._pending: bytes | memoryview | None = None
        self._index = 0

    def _seal(self, chunk, last: bool) -> bytes:
        sealed = self._aead.encrypt(_stream_nonce(self._header, self._index, last), chunk,
                                    self._ad)
        self._index += 1
        return sealed

    def feed(self, piece: bytes) -> list[bytes]:
        sealed: list[bytes] = []
        view, position = memoryview(piece), 0
        while position < len(view):
            if self._pending is not None:  # more data follows it, so it is not the last
                sealed.append(self._seal(self._pending, last=False))
                self._pending = None
            if not self._partial and len(view) - position >= CHUNK_SIZE:
                self._pending = view[position:position + CHUNK_SIZE]
                position += CHUNK_SIZE
                continue
            take = min(CHUNK_SIZE - len(self._partial), len(view) - position)
            self._partial += view[position:position + take]
            position += take
            if len(self._partial) == CHUNK_SIZE:
                self._pending = bytes(self._partial)
                self._partial.clear()
        return sealed

    def finish(self) -> bytes:
        """Seal the last chunk (a pending full chunk, or whatever is left, even nothing)."""
        last = self._pending if self._pending is not None else bytes(self._partial)
        return self._seal(last, last=True)


def encrypt_stream(pieces: Iterable[bytes], key: bytes, header: bytes,
                   ad: bytes) -> Iterator[bytes]:
    """Encrypt a stream of any length into chunks of CHUNK_SIZE + 16 bytes (the last may be
    shorter; an empty stream is one empty chunk)."""
    sealer = StreamSealer(key, header, ad)
    for piece in pieces:
        yield from sealer.feed(piece)
    yield sealer.finish()


def decrypt_chunk(chunk: bytes, index: int, last: bool, key: bytes, header: bytes,
                  ad: bytes, aead: AESGCM | None = None) -> bytes:
    try:
        return (aead or AESGCM(key)).decrypt(_stream_nonce(header, index, last), chunk, ad)
    except InvalidTag:
        raise DecryptionError(f"chunk {index} failed authentication") from None


def decrypt_stream(chunks: Iterable[bytes], key: bytes, header: bytes, ad: bytes,
                   first_index: int = 0) -> Iterator[bytes]:
    """Decrypt chunks in order; raise on any edit, reordering, truncation or extension."""
    aead = AESGCM(key)
    iterator = iter(chunks)
    current = next(iterator, None)
    if current is None:
        raise DecryptionError("empty stream")
    index = first_index
    for following in iterator:
        yield decrypt_chunk(current, index, False, key, header, ad, aead)
        current, index = following, index + 1
    yield decrypt_chunk(current, index, True, key, header, ad, aead)


# ---------------------------------------------------------------------------------------
# Private keys at rest: Argon2id from the owner's passphrase, then AES-256-GCM


@dataclass(frozen=True)
class KdfCost:
    """Argon2id cost. The brief's floor is 64 MiB; tests may lower it to run fast."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 1


def _kek(passphrase: str, salt: bytes, cost: KdfCost) -> bytes:
    return Argon2id(salt=salt, length=KEY_SIZE, iterations=cost.iterations, lanes=cost.lanes,
                    memory_cost=cost.memory_kib).derive(passphrase.encode("utf-8"))


def wrap_private_key(private_key: bytes, passphrase: str, key_id: str,
                     cost: KdfCost = KdfCost()) -> bytes:
    header = _KDF_HEADER.pack(FORMAT_VERSION, cost.memory_kib, cost.iterations, cost.lanes,
                              os.urandom(16))
    return header + seal_secret(private_key, _kek(passphrase, header[-16:], cost),
                                header + context("private-key", key_id=key_id))


def unwrap_private_key(blob: bytes, passphrase: str, key_id: str) -> bytes:
    if len(blob) < _KDF_HEADER.size:
        raise DecryptionError("truncated key")
    header = blob[: _KDF_HEADER.size]
    version, memory_kib, iterations, lanes, salt = _KDF_HEADER.unpack(header)
    if version != FORMAT_VERSION or not (8 * 1024 <= memory_kib <= 1024 * 1024) \
            or not (1 <= iterations <= 64) or not (1 <= lanes <= 16):
        raise DecryptionError("unknown key format")
    kek = _kek(passphrase, salt, KdfCost(memory_kib, iterations, lanes))
    try:
        return open_secret(blob[_KDF_HEADER.size:], kek,
                           header + context("private-key", key_id=key_id))
    except DecryptionError:
        raise WrongPassphrase("wrong passphrase") from None


def kdf_cost_of(blob: bytes) -> KdfCost:
    _, memory_kib, iterations, lanes, _ = _KDF_HEADER.unpack(blob[: _KDF_HEADER.size])
    return KdfCost(memory_kib, iterations, lanes)


# ---------------------------------------------------------------------------------------
# The organisation recovery key, written down once for offline keeping

_RECOVERY_PREFIX = "VOICEAPP-RECOVERY-1-"


def format_recovery_key(private_key: bytes) -> str:
    """Base32 in groups of eight, with a check so a typo is caught before use."""
    check = hashlib.sha256(private_key).digest()[:4]
    text = base64.b32encode(private_key + check).decode().rstrip("=")
    return _RECOVERY_PREFIX + "-".join(text[i : i + 8] for i in range(0, len(text), 8))


def parse_recovery_key(text: str) -> bytes:
    compact = "".join(text.split()).upper()
    if not compact.startswith(_RECOVERY_PREFIX):
        raise ValueError("this is not a voiceapp recovery key")
    body = compact[len(_RECOVERY_PREFIX):].replace("-", "")
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        raise ValueError("this recovery key has a typing mistake") from None
    key, check = raw[:-4], raw[-4:]
    if len(key) != PRIVATE_KEY_SIZE or hashlib.sha256(key).digest()[:4] != check:
        raise ValueError("this recovery key has a typing mistake")
    return key
