"""voiceapp.crypto: known answers, round trips, and tampering with every field of every format."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceapp import crypto

VECTORS = json.loads((Path(__file__).parent / "data" / "crypto_vectors.json").read_text())
FAST = crypto.KdfCost(memory_kib=8192, iterations=1)
PRIVATE = bytes.fromhex(VECTORS["private_key"])
PUBLIC = crypto.public_key_of(PRIVATE)
KEY_ID = crypto.key_id_of(PUBLIC)
AD = crypto.context("submission", submission="s-1", conference=3)
HPKE_ENC_SIZE = 1120  # ML-KEM-768 ciphertext (1088) + X25519 share (32)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


@pytest.fixture(scope="module")
def other_private() -> bytes:
    return crypto.generate_private_key()


@pytest.fixture
def sealed():
    return crypto.seal_for_recipients(b"I want to live with my nan", [crypto.Recipient(
        KEY_ID, PUBLIC)], AD)


# --------------------------------------------------------------------------- known answers

def test_keys_are_derived_as_before():
    assert hashlib.sha256(PUBLIC).hexdigest() == VECTORS["public_key_sha256"]
    assert KEY_ID == VECTORS["key_id"]


def test_an_envelope_sealed_by_an_earlier_build_still_opens():
    env = VECTORS["envelope"]
    plaintext, content_key = crypto.open_envelope(
        bytes.fromhex(env["ciphertext"]), bytes.fromhex(env["wrapped_key"]), KEY_ID, PRIVATE,
        env["ad"].encode())
    assert plaintext.decode() == env["plaintext"]
    assert len(content_key) == 32


def test_stream_encryption_matches_the_recorded_ciphertext():
    v = VECTORS["stream"]
    plaintext = bytes(i % 251 for i in range(v["plaintext_length"]))
    chunks = list(crypto.encrypt_stream([plaintext], bytes.fromhex(v["key"]),
                                        bytes.fromhex(v["header"]), v["ad"].encode()))
    assert len(chunks) == v["chunk_count"]
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == v["ciphertext_sha256"]


def test_stream_nonces_follow_the_stream_construction():
    """Checked independently of voiceapp: prefix || 32-bit counter || last-chunk flag."""
    v = VECTORS["stream"]
    key, header, ad = bytes.fromhex(v["key"]), bytes.fromhex(v["header"]), v["ad"].encode()
    plaintext = bytes(i % 251 for i in range(v["plaintext_length"]))
    chunks = list(crypto.encrypt_stream([plaintext], key, header, ad))
    aead = AESGCM(key)
    first = aead.decrypt(header[1:] + struct.pack(">I", 0) + b"\x00", chunks[0], ad)
    last = aead.decrypt(header[1:] + struct.pack(">I", 2) + b"\x01", chunks[2], ad)
    assert first == plaintext[:crypto.CHUNK_SIZE]
    assert last == plaintext[2 * crypto.CHUNK_SIZE:]


def test_a_private_key_wrapped_by_an_earlier_build_still_unwraps():
    v = VECTORS["wrapped_private_key"]
    assert crypto.unwrap_private_key(bytes.fromhex(v["blob"]), v["passphrase"], KEY_ID) == PRIVATE


def test_the_recovery_key_text_is_stable_and_parses_back():
    assert crypto.format_recovery_key(PRIVATE) == VECTORS["recovery_text"]
    assert crypto.parse_recovery_key(VECTORS["recovery_text"].lower()) == PRIVATE


def test_a_typing_mistake_in_a_recovery_key_is_caught():
    text = VECTORS["recovery_text"]
    wrong = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    with pytest.raises(ValueError, match="typing mistake"):
        crypto.parse_recovery_key(wrong)
    with pytest.raises(ValueError):
        crypto.parse_recovery_key("not a key")


# --------------------------------------------------------------------------- envelopes

def test_every_recipient_opens_the_same_envelope(other_private):
    other_public = crypto.public_key_of(other_private)
    recipients = [crypto.Recipient(KEY_ID, PUBLIC),
                  crypto.Recipient(crypto.key_id_of(other_public), other_public)]
    envelope = crypto.seal_for_recipients(b"hello", recipients, AD)
    for recipient, private in zip(recipients, (PRIVATE, other_private)):
        plaintext, _ = crypto.open_envelope(envelope.ciphertext,
                                            envelope.wrapped_keys[recipient.key_id],
                                            recipient.key_id, private, AD)
        assert plaintext == b"hello"


def test_sealing_twice_gives_different_ciphertexts(sealed):
    again = crypto.seal_for_recipients(b"I want to live with my nan",
                                       [crypto.Recipient(KEY_ID, PUBLIC)], AD)
    assert again.ciphertext != sealed.ciphertext
    assert again.wrapped_keys[KEY_ID] != sealed.wrapped_keys[KEY_ID]


def test_the_plaintext_is_not_in_the_ciphertext(sealed):
    assert b"nan" not in sealed.ciphertext
    assert "nan" not in repr(sealed)


def test_an_envelope_needs_a_recipient():
    with pytest.raises(ValueError):
        crypto.seal_for_recipients(b"x", [], AD)


@pytest.mark.parametrize("where", [
    pytest.param(0, id="version byte"),
    pytest.param(1, id="nonce"),
    pytest.param(1 + crypto.NONCE_SIZE, id="body"),
    pytest.param(-1, id="tag"),
])
def test_a_flipped_bit_in_the_sealed_answers_is_detected(sealed, where):
    index = where % len(sealed.ciphertext)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(flip(sealed.ciphertext, index), sealed.wrapped_keys[KEY_ID],
                             KEY_ID, PRIVATE, AD)


@pytest.mark.parametrize("where", [
    pytest.param(0, id="ML-KEM ciphertext"),
    pytest.param(HPKE_ENC_SIZE - 1, id="X25519 share"),
    pytest.param(HPKE_ENC_SIZE, id="sealed content key"),
    pytest.param(-1, id="content key tag"),
])
def test_a_flipped_bit_in_a_wrapped_key_is_detected(sealed, where):
    wrapped = sealed.wrapped_keys[KEY_ID]
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, flip(wrapped, where % len(wrapped)), KEY_ID,
                             PRIVATE, AD)


def test_truncated_envelopes_are_refused(sealed):
    wrapped = sealed.wrapped_keys[KEY_ID]
    for ciphertext, key in ((sealed.ciphertext[:-1], wrapped), (sealed.ciphertext[:5], wrapped),
                            (sealed.ciphertext, wrapped[:-1]), (sealed.ciphertext, b"")):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_envelope(ciphertext, key, KEY_ID, PRIVATE, AD)


@pytest.mark.parametrize("other_ad", [
    pytest.param(crypto.context("submission", submission="s-2", conference=3), id="submission id"),
    pytest.param(crypto.context("submission", submission="s-1", conference=4), id="conference id"),
    pytest.param(crypto.context("draft", submission="s-1", conference=3), id="purpose"),
    pytest.param(AD.replace(b'"format":1', b'"format":2'), id="format version"),
])
def test_answers_moved_to_another_row_do_not_open(sealed, other_ad):
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, sealed.wrapped_keys[KEY_ID], KEY_ID, PRIVATE,
                             other_ad)


def test_a_wrapped_key_from_another_submission_does_not_open_this_one(sealed):
    other = crypto.seal_for_recipients(b"other", [crypto.Recipient(KEY_ID, PUBLIC)],
                                       crypto.context("submission", submission="s-9",
                                                      conference=3))
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, other.wrapped_keys[KEY_ID], KEY_ID, PRIVATE, AD)


def test_the_wrong_key_or_key_id_cannot_open(sealed, other_private):
    wrapped = sealed.wrapped_keys[KEY_ID]
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, wrapped, KEY_ID, other_private, AD)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, wrapped, "0" * 32, PRIVATE, AD)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(sealed.ciphertext, wrapped, KEY_ID, PRIVATE[:-1], AD)


@settings(max_examples=25, deadline=None)
@given(plaintext=st.binary(max_size=2000), submission=st.text(max_size=40),
       conference=st.integers(min_value=0))
def test_any_answers_round_trip(plaintext, submission, conference):
    ad = crypto.context("submission", submission=submission, conference=conference)
    env = crypto.seal_for_recipients(plaintext, [crypto.Recipient(KEY_ID, PUBLIC)], ad)
    opened, _ = crypto.open_envelope(env.ciphertext, env.wrapped_keys[KEY_ID], KEY_ID, PRIVATE,
                                     ad)
    assert opened == plaintext


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_single_bit_flip_in_a_secret_box_is_detected(data):
    key = bytes(32)
    box = crypto.seal_secret(data.draw(st.binary(max_size=300)), key, b"ad")
    index = data.draw(st.integers(min_value=0, max_value=len(box) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    tampered = box[:index] + bytes([box[index] ^ (1 << bit)]) + box[index + 1:]
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(tampered, key, b"ad")


@given(ids=st.dictionaries(st.sampled_from(["submission", "conference", "draft", "invite"]),
                           st.one_of(st.integers(), st.text(max_size=20)), min_size=1),
       other=st.dictionaries(st.sampled_from(["submission", "conference", "draft", "invite"]),
                             st.one_of(st.integers(), st.text(max_size=20)), min_size=1))
def test_different_ids_never_give_the_same_associated_data(ids, other):
    if {k: str(v) for k, v in ids.items()} != {k: str(v) for k, v in other.items()}:
        assert crypto.context("x", **ids) != crypto.context("x", **other)


# --------------------------------------------------------------------------- attachments

STREAM_KEY = bytes(range(32))
STREAM_AD = crypto.context("attachment", attachment="a-1")


def encrypted(data: bytes, header: bytes | None = None) -> tuple[bytes, list[bytes]]:
    header = header or crypto.new_stream_header()
    return header, list(crypto.encrypt_stream([data], STREAM_KEY, header, STREAM_AD))


def decrypted(header: bytes, chunks: list[bytes], key: bytes = STREAM_KEY,
              ad: bytes = STREAM_AD) -> bytes:
    return b"".join(crypto.decrypt_stream(chunks, key, header, ad))


SIZES = [0, 1, crypto.CHUNK_SIZE - 1, crypto.CHUNK_SIZE, crypto.CHUNK_SIZE + 1,
         3 * crypto.CHUNK_SIZE]


@pytest.mark.parametrize("size", SIZES)
def test_attachments_of_every_awkward_size_round_trip(size):
    data = bytes(i % 256 for i in range(size))
    header, chunks = encrypted(data)
    assert len(chunks) == max(1, -(-size // crypto.CHUNK_SIZE))
    assert decrypted(header, chunks) == data


BIG = bytes(i % 256 for i in range(2 * crypto.CHUNK_SIZE + 100))


def test_a_dropped_last_chunk_is_detected():
    header, chunks = encrypted(BIG)
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, chunks[:-1])


def test_an_extra_chunk_after_the_last_is_detected():
    header, chunks = encrypted(BIG)
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, chunks + [chunks[0]])


def test_reordered_or_repeated_chunks_are_detected():
    header, chunks = encrypted(BIG)
    for order in ([1, 0, 2], [0, 0, 2], [0, 2]):
        with pytest.raises(crypto.DecryptionError):
            decrypted(header, [chunks[i] for i in order])


def test_an_empty_stream_is_refused():
    with pytest.raises(crypto.DecryptionError):
        decrypted(crypto.new_stream_header(), [])


@pytest.mark.parametrize("target", ["header version", "nonce prefix", "chunk body",
                                    "chunk tag"])
def test_a_flipped_bit_anywhere_in_an_attachment_is_detected(target):
    header, chunks = encrypted(BIG)
    if target == "header version":
        header = flip(header, 0)
    elif target == "nonce prefix":
        header = flip(header, 3)
    elif target == "chunk body":
        chunks[1] = flip(chunks[1], 10)
    else:
        chunks[2] = flip(chunks[2], len(chunks[2]) - 1)
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, chunks)


def test_an_attachment_cannot_be_moved_to_another_row_or_opened_with_another_key():
    header, chunks = encrypted(BIG)
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, chunks, ad=crypto.context("attachment", attachment="a-2"))
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, chunks, key=bytes(32))


def test_chunks_of_two_attachments_cannot_be_mixed():
    header, chunks = encrypted(BIG)
    other_header, other_chunks = encrypted(BIG)
    with pytest.raises(crypto.DecryptionError):
        decrypted(header, [chunks[0], other_chunks[1], chunks[2]])


def test_a_seek_decrypts_from_any_chunk():
    header, chunks = encrypted(BIG)
    tail = b"".join(crypto.decrypt_stream(chunks[1:], STREAM_KEY, header, STREAM_AD,
                                          first_index=1))
    assert tail == BIG[crypto.CHUNK_SIZE:]


@settings(max_examples=30, deadline=None)
@given(pieces=st.lists(st.binary(max_size=3 * crypto.CHUNK_SIZE // 2), max_size=6))
def test_pieces_of_any_size_seal_into_whole_chunks_in_order(pieces):
    header = crypto.new_stream_header()
    chunks = list(crypto.encrypt_stream(pieces, STREAM_KEY, header, STREAM_AD))
    total = sum(len(p) for p in pieces)
    assert len(chunks) == max(1, -(-total // crypto.CHUNK_SIZE))
    assert all(len(c) == crypto.CHUNK_SIZE + crypto.TAG_SIZE for c in chunks[:-1])
    assert decrypted(header, chunks) == b"".join(pieces)


# --------------------------------------------------------------------------- private keys

@pytest.fixture(scope="module")
def wrapped() -> bytes:
    return crypto.wrap_private_key(PRIVATE, "a long passphrase", KEY_ID, FAST)


def test_a_private_key_unwraps_with_its_passphrase(wrapped):
    assert crypto.unwrap_private_key(wrapped, "a long passphrase", KEY_ID) == PRIVATE
    assert crypto.kdf_cost_of(wrapped) == FAST


def test_the_default_cost_meets_the_brief():
    assert crypto.KdfCost().memory_kib >= 64 * 1024


def test_a_wrong_passphrase_or_key_id_is_refused(wrapped):
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(wrapped, "a long passphrasf", KEY_ID)
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(wrapped, "a long passphrase", "0" * 32)


@pytest.mark.parametrize("index,field", [
    (0, "version"), (1, "memory cost"), (5, "iterations"), (9, "lanes"), (13, "salt"),
    (29, "box version"), (31, "nonce"), (45, "sealed key"), (-1, "tag"),
])
def test_every_field_of_a_wrapped_key_is_protected(wrapped, index, field):
    tampered = flip(wrapped, index % len(wrapped))
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(tampered, "a long passphrase", KEY_ID)


def test_a_truncated_wrapped_key_is_refused(wrapped):
    for cut in (wrapped[:10], wrapped[:-1]):
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_private_key(cut, "a long passphrase", KEY_ID)


def test_keys_are_the_post_quantum_hybrid():
    private = crypto.generate_private_key()
    assert len(private) == crypto.PRIVATE_KEY_SIZE == 96
    assert len(crypto.public_key_of(private)) == crypto.PUBLIC_KEY_SIZE == 1184 + 32
