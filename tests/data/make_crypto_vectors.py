"""Make tests/data/crypto_vectors.json: known answers for voiceapp's crypto formats.

Run once when the format changes on purpose (and bump crypto.FORMAT_VERSION then):
    python tests/data/make_crypto_vectors.py
The tests check that today's code still opens what this code sealed.
"""

import hashlib
import json
from pathlib import Path

from voiceapp import crypto

private = bytes(range(96))
public = crypto.public_key_of(private)
key_id = crypto.key_id_of(public)
ad = crypto.context("submission", submission="00000000-0000-4000-8000-000000000001",
                    conference=7)
envelope = crypto.seal_for_recipients(b'{"worries":"known answer"}',
                                      [crypto.Recipient(key_id, public)], ad)
stream_key = bytes(range(32, 64))
header = bytes([crypto.FORMAT_VERSION]) + bytes(range(7))
stream_ad = crypto.context("attachment", attachment="a1")
plaintext = bytes(i % 251 for i in range(150_000))
chunks = list(crypto.encrypt_stream([plaintext], stream_key, header, stream_ad))
wrapped_private = crypto.wrap_private_key(private, "correct horse", key_id,
                                          crypto.KdfCost(memory_kib=8192, iterations=1))

vectors = {
    "private_key": private.hex(),
    "public_key_sha256": hashlib.sha256(public).hexdigest(),
    "key_id": key_id,
    "envelope": {
        "ad": ad.decode(),
        "plaintext": '{"worries":"known answer"}',
        "ciphertext": envelope.ciphertext.hex(),
        "wrapped_key": envelope.wrapped_keys[key_id].hex(),
    },
    "stream": {
        "key": stream_key.hex(),
        "header": header.hex(),
        "ad": stream_ad.decode(),
        "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
        "plaintext_length": len(plaintext),
        "chunk_count": len(chunks),
        "ciphertext_sha256": hashlib.sha256(b"".join(chunks)).hexdigest(),
    },
    "wrapped_private_key": {"passphrase": "correct horse", "blob": wrapped_private.hex()},
    "recovery_text": crypto.format_recovery_key(private),
}
out = Path(__file__).with_name("crypto_vectors.json")
out.write_text(json.dumps(vectors, indent=1) + "\n")
print(f"wrote {out}")
