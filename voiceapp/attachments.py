"""Voice notes and photos: receiving them, sealing them into the database, playing them back.

- While an upload arrives, it goes into a :class:`SealedSpool`: a temporary file encrypted
  under a key that exists only in this process's memory, so neither memory nor disk ever
  holds the whole file in plain form.
- Once checked (:mod:`voiceapp.media`), it is sealed in 64 KiB chunks under its own file key
  (the STREAM construction in :mod:`voiceapp.crypto`) and written chunk by chunk, so memory
  stays flat whatever the size. The file key, name and type are kept with the answers
  (sealed in the draft, then in the submission), never in a column.
- Playing back first checks every chunk of the file, then decrypts only the chunks a byte
  range needs, so players can seek and a changed file is reported before any byte is sent.
"""

from __future__ import annotations

import base64
import io
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Request, Response, abort, current_app, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from . import audit, crypto, media
from .config import settings
from .db import database
from .models import Attachment, AttachmentChunk
from .submissions import attachment_for

log = logging.getLogger("voiceapp")

SEALED_CHUNK = crypto.CHUNK_SIZE + crypto.TAG_SIZE
_SPOOL_AD = crypto.context("upload-spool")


class SealedSpool(io.RawIOBase):
    """A writable, then readable and seekable, temporary file sealed under a memory-only key."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self.failed = False  # the disk was full: the rest of the upload is dropped
        self._key = crypto.random_key()
        self._header = crypto.new_stream_header()
        self._sealer: crypto.StreamSealer | None = crypto.StreamSealer(
            self._key, self._header, _SPOOL_AD)
        self._chunks = 0
        self.size = 0
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def writable(self) -> bool:
        return self._sealer is not None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        """Take the next piece. If the disk is full, drop the file (``failed``) but keep
        reading, so the rest of the form (what a child typed) still arrives."""
        if self._sealer is None:
            raise OSError("the spool is sealed")
        self.size += len(data)
        if self.failed:
            return len(data)
        try:
            for chunk in self._sealer.feed(bytes(data)):
                self._file.write(chunk)
                self._chunks += 1
        except OSError:
            log.error("an upload could not be spooled: the temporary folder is full")
            self.failed = True
        return len(data)

    def _finish(self) -> None:
        if self._sealer is not None:
            if not self.failed:
                try:
                    self._file.write(self._sealer.finish())
                    self._file.flush()
                    self._chunks += 1
                except OSError:
                    self.failed = True
            self._sealer = None

    def _chunk(self, index: int) -> bytes:
        if self._cached is None or self._cached[0] != index:
            self._file.seek(index * SEALED_CHUNK)
            sealed = self._file.read(SEALED_CHUNK)
            self._cached = (index, crypto.decrypt_chunk(
                sealed, index, index == self._chunks - 1, self._key, self._header, _SPOOL_AD))
        return self._cached[1]

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._finish()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        self._finish()
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts = []
        while self._position < end:
            index, offset = divmod(self._position, crypto.CHUNK_SIZE)
            piece = self._chunk(index)[offset:offset + end - self._position]
            parts.append(piece)
            self._position += len(piece)
        return b"".join(parts)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def pieces(self) -> Iterator[bytes]:
        """The whole file, from the start, one chunk at a time."""
        self.seek(0)
        for index in range(self._chunks):
            yield self._chunk(index)

    def close(self) -> None:
        self._file.close()
        self._cached = None
        super().close()


class UploadRequest(Request):
    """Flask's request as voiceapp reads it: every uploaded file spooled sealed instead of
    in plain text, and a form of typed words (no files) no bigger than one field may be
    (``MAX_FORM_MEMORY_SIZE``): a flood gets "too big" (413), not an echo of itself."""

    @property
    def max_content_length(self) -> int | None:
        if self.mimetype == "application/x-www-form-urlencoded":
            return current_app.config["MAX_FORM_MEMORY_SIZE"]
        return super().max_content_length

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return SealedSpool()


# ---------------------------------------------------------------------------------------
# Receiving


class UploadProblem(ValueError):
    """A file we will not keep, with a kind message; nothing already saved is touched."""


WORDS = {
    media.NOT_AUDIO: _l("That file is not a voice note we can play. Try to record it again. "
                        "Or choose another file."),
    media.NOT_IMAGE: _l("That file is not a photo we can open. Please take the photo again."),
    media.TOO_MANY_PIXELS: _l("That photo is too big for us to open. Please send a smaller "
                              "one."),
    media.BROKEN: _l("That file seems to be broken or only partly sent. Please try again."),
    media.TOO_HARD: _l("We could not check that file. Please try a different one."),
}


def attachment_context(attachment_id: uuid.UUID) -> bytes:
    return crypto.context("attachment", attachment=attachment_id)


@dataclass
class Checked:
    """An upload that passed its checks, ready to be stored in the write transaction."""

    spool: SealedSpool
    found: media.Inspected

    def pieces(self) -> Iterator[bytes]:
        if self.found.image is not None:
            return iter([self.found.image])
        return self.spool.pieces()


def check(upload: FileStorage, expected: str, already_stored: int) -> Checked:
    """Check an uploaded voice note ("audio") or photo ("image") without touching the
    database: size, what it really is, its length or pixels (:func:`media.inspect`)."""
    spool = upload.stream
    if not isinstance(spool, SealedSpool):  # pragma: no cover - UploadRequest makes these
        raise UploadProblem(_("That file could not be read. Please try again."))
    spool.seek(0)
    if spool.failed:
        raise UploadProblem(_("We could not take that file just now. Everything else on "
                              "this page is saved. Please try again later."))
    limits = settings()
    if spool.size > limits.max_file_bytes:
        raise UploadProblem(_("That file is too big. Files can be up to %(mb)s MB.",
                              mb=limits.max_file_bytes // (1024 * 1024)))
    if already_stored + spool.size > limits.max_draft_attachment_bytes:
        raise UploadProblem(_("You have added all the files we can keep. Take one out to "
                              "add a new one."))
    try:
        found = media.inspect(expected, spool.pieces())
    except media.MediaProblem as problem:
        raise UploadProblem(str(WORDS[problem.code])) from None
    if found.seconds is not None and found.seconds > limits.max_audio_seconds + 1:
        raise UploadProblem(_("That voice note is more than %(minutes)s minutes long. Please "
                              "record a shorter one.", minutes=limits.max_audio_seconds // 60))
    return Checked(spool, found)


def receive(tx: Session, checked: Checked, draft_id: uuid.UUID) -> dict:
    """Seal a checked upload into ``tx`` for the draft, and return what the answers keep
    about it (its file key included)."""
    kind = checked.found.kind
    attachment, key, size = store(tx, checked.pieces(), draft_id)
    name = "voice-note" if kind.kind == "audio" else "drawing"
    meta = {"seconds": round(checked.found.seconds)} if checked.found.seconds else {}
    return {"id": str(attachment.id), "key": base64.b64encode(key).decode(),
            "kind": kind.kind, "type": kind.mime, "name": f"{name}.{kind.extension}",
            "size": size, **meta}


def store(tx: Session, pieces: Iterator[bytes], draft_id: uuid.UUID | None
          ) -> tuple[Attachment, bytes, int]:
    """Seal ``pieces`` under a new file key, writing each chunk as it is sealed."""
    key = crypto.random_key()
    attachment = Attachment(id=uuid.uuid4(), draft_id=draft_id,
                            stream_header=crypto.new_stream_header())
    tx.add(attachment)
    tx.flush()
    sealer = crypto.StreamSealer(key, attachment.stream_header,
                                 attachment_context(attachment.id))
    seq, size = 0, 0

    def write(chunk: bytes) -> None:
        nonlocal seq
        tx.execute(insert(AttachmentChunk), [{"attachment_id": attachment.id, "seq": seq,
                                              "data": chunk}])
        seq += 1

    for piece in pieces:
        size += len(piece)
        for chunk in sealer.feed(piece):
            write(chunk)
    write(sealer.finish())
    attachment.chunk_count, attachment.size = seq, size
    return attachment, key, size


# ---------------------------------------------------------------------------------------
# Playing back


def _chunks(engine: Engine, attachment_id: uuid.UUID, first: int,
            last: int) -> Iterator[bytes]:
    """Sealed chunks ``first``..``last`` read one by one on a connection of their own (the
    response streams after the request, and its session, have ended)."""
    with engine.connect() as connection:
        for seq in range(first, last + 1):
            yield connection.scalar(select(AttachmentChunk.data).where(
                AttachmentChunk.attachment_id == attachment_id, AttachmentChunk.seq == seq))


def playback(attachment: Attachment, meta: dict, download: bool = False) -> Response:
    """The decrypted file (or the byte range asked for), never cached, safe to embed."""
    key = base64.b64decode(meta["key"])
    # The length comes from the sealed details, never from the row: a shortened row would
    # otherwise skip the last chunk, and with it the check that nothing was cut off.
    size, header, context = int(meta["size"]), attachment.stream_header, \
        attachment_context(attachment.id)
    byte_range = request.range.range_for_length(size) if request.range and size else None
    start, stop = byte_range if byte_range else (0, size)
    first = start // crypto.CHUNK_SIZE
    last = max(first, (stop - 1) // crypto.CHUNK_SIZE) if size else 0
    count = max(1, -(-size // crypto.CHUNK_SIZE))
    engine, attachment_id = database().engine, attachment.id

    def body() -> Iterator[bytes]:
        position = first * crypto.CHUNK_SIZE
        for index, sealed in enumerate(_chunks(engine, attachment_id, first, last),
                                       start=first):
            if sealed is None:
                raise crypto.DecryptionError(f"chunk {index} is missing")
            plain = crypto.decrypt_chunk(sealed, index, index == count - 1, key, header, context)
            yield plain[max(0, start - position):stop - position]
            position += len(plain)

    response = Response(body(), status=206 if byte_range else 200, mimetype=meta["type"],
                        direct_passthrough=True)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Length"] = str(stop - start)
    if byte_range:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{meta["name"]}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


ALTERED_TITLE = _l("This file has been altered")
ALTERED_MESSAGE = _l("Someone changed part of this file after it was sent. We will not play "
                     "it. We have made a note of this. Tell your coordinator.")


def intact(attachment: Attachment, meta: dict) -> bool:
    """Whether every chunk of the file is there, in order and unchanged, and adds up to the
    length sealed with its details. Checked before any byte of it is sent."""
    key = base64.b64decode(meta["key"])
    try:
        with database().engine.connect() as connection:
            chunks = connection.execution_options(stream_results=True).scalars(
                select(AttachmentChunk.data).where(
                    AttachmentChunk.attachment_id == attachment.id)
                .order_by(AttachmentChunk.seq))
            size = sum(len(plain) for plain in crypto.decrypt_stream(
                chunks, key, attachment.stream_header, attachment_context(attachment.id)))
    except crypto.DecryptionError:
        return False
    return size == int(meta["size"])


def check_files(tx: Session, reading, actor: str) -> None:
    """Check every voice note and photo of an opened submission before its page shows them:
    a changed one is reported (audit) and shown as altered, never played."""
    for meta in reading.attachments:
        found = find(tx, meta)
        if found is None or found.submission_id != reading.submission.id \
                or not intact(found, meta):
            reading.altered_files.add(meta["id"])
            audit.record(tx, "attachment.altered", actor=actor,
                         subject=f"attachment:{meta['id']}")


def altered_page(tx: Session, attachment: Attachment, actor: str) -> Response:
    """Report a changed file (audit) and tell the reader, instead of playing it."""
    log.error("attachment %s failed its check", attachment.id)
    audit.record(tx, "attachment.altered", actor=actor, subject=f"attachment:{attachment.id}")
    return Response(render_template("errors/error.html", code=409, title=ALTERED_TITLE,
                                    message=ALTERED_MESSAGE), status=409)


def play_for_reader(tx: Session, reader, keys: dict[str, bytes], submission,
                    attachment: Attachment) -> Response:
    """A sent voice note or photo for a chair or advocate who may read ``submission`` (call
    it inside :func:`db.writing`): its file key comes from the sealed submission, the first
    opening is audited, and a changed file is reported instead of played."""
    meta = attachment_for(tx, reader, keys, submission, str(attachment.id),
                          record=first_opening(attachment.id))
    if meta is None:
        abort(404)
    if not intact(attachment, meta):
        return altered_page(tx, attachment, audit.actor_for(reader))
    return playback(attachment, meta, download=bool(request.args.get("download")))


def first_opening(attachment_id) -> bool:
    """True the first time this session opens this file: the one to audit, whatever byte
    range the player asks for."""
    opened = session.setdefault("opened_files", [])
    if str(attachment_id) in opened:
        return False
    opened.append(str(attachment_id))
    session.modified = True
    return True


def find(tx: Session, meta: dict) -> Attachment | None:
    try:
        return tx.get(Attachment, uuid.UUID(meta["id"]))
    except (KeyError, ValueError):
        return None
