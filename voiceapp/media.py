"""What an uploaded file really is, and making it safe to keep.

The type comes from the file's first bytes (its "magic"), never from its name or what the
browser claims. Voice notes must be audio only, in a container we can check, no longer
than the limit. Photos are decoded and re-encoded by Pillow, which leaves every piece of
metadata behind (EXIF, GPS, camera serials, comments, colour profiles); HEIC photos from
iPhones become JPEG, because browsers cannot show HEIC.

Mutagen reads the length of Ogg, MP4/M4A, WAV and MP3 recordings. It cannot read WebM, the
format Chrome and Firefox record in, and no well-kept Python library does, so a small WebM
(EBML) reader below walks the file's clusters and block timestamps to find its length.

A hostile file must not tie up or kill a worker (a WebM of millions of empty elements, an
MP4 of millions of empty atoms, a small PNG that decodes to a huge picture). So every check
runs in a short-lived child process (:func:`inspect`, this file run as a script) with hard
limits on CPU time, memory and files, a wall-clock deadline, and caps on elements, atoms and
pixels so that most hostile files fail in milliseconds. The plain bytes reach the child
through a pipe, never the disk. This module imports nothing from Flask or the rest of
voiceapp, so the child starts quickly.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC photos from iPhones, when the optional decoder is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIC = False

# JPEGs decode at a reduced scale (``draft``), so a big camera photo is cheap; other formats
# decode whole, four bytes a pixel.
MAX_JPEG_PIXELS = 50_000_000
MAX_IMAGE_PIXELS = 4096 * 4096
LONGEST_SIDE = 2400  # plenty for a photo of a drawing; smaller is quicker to check
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS
MIN_AUDIO_SECONDS = 0.3
MAX_WEBM_ELEMENTS = 200_000
MAX_MP4_ATOMS = 20_000

# The child process's limits.
CPU_SECONDS = 10
MEMORY_BYTES = 1024 * 1024 * 1024
DEADLINE_SECONDS = 20

# Why a file was refused (the caller turns these into kind words).
NOT_AUDIO = "not-audio"
NOT_IMAGE = "not-image"
TOO_MANY_PIXELS = "too-many-pixels"
BROKEN = "broken"
TOO_HARD = "too-hard"  # the child process hit a limit or the deadline


class MediaProblem(ValueError):
    """A file we will not keep; ``code`` says why (one of the constants above)."""

    @property
    def code(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Kind:
    kind: str  # "audio" or "image"
    mime: str
    extension: str


AUDIO_KINDS = {
    "webm": Kind("audio", "audio/webm", "webm"),
    "ogg": Kind("audio", "audio/ogg", "ogg"),
    "mp4": Kind("audio", "audio/mp4", "m4a"),
    "wav": Kind("audio", "audio/wav", "wav"),
    "mp3": Kind("audio", "audio/mpeg", "mp3"),
}
IMAGE_KINDS = {
    "JPEG": Kind("image", "image/jpeg", "jpg"),
    "PNG": Kind("image", "image/png", "png"),
    "WEBP": Kind("image", "image/webp", "webp"),
}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}

def sniff(head: bytes) -> str | None:
    """The container a file really is, from its first bytes: "webm", "ogg", "mp4", "wav",
    "mp3", "jpeg", "png", "webp", "heic", or None."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else None
    if head.startswith(b"OggS"):
        return "ogg"
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(len(head), 48), 4)}
        return "heic" if brands & _HEIC_BRANDS else "mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06):
        return "mp3"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


# ---------------------------------------------------------------------------------------
# Voice notes


def audio_seconds(container: str, stream: IO[bytes]) -> float:
    """The length of an audio-only recording; raises :class:`MediaProblem` otherwise."""
    stream.seek(0)
    try:
        seconds = (webm_seconds(stream) if container == "webm"
                   else _mutagen_seconds(container, stream))
    except MediaProblem:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means a file we will not keep
        raise MediaProblem(BROKEN) from None
    if seconds < MIN_AUDIO_SECONDS:
        raise MediaProblem(BROKEN)
    return seconds


def _mutagen_seconds(container: str, stream: IO[bytes]) -> float:
    import mutagen
    from mutagen.mp4 import MP4, Atoms

    if container == "mp4":
        stream.seek(0, io.SEEK_END)
        end = stream.tell()
        stream.seek(0)
        _count_atoms(stream, end, [MAX_MP4_ATOMS])
        stream.seek(0)
        atoms = Atoms(stream)
        for track in atoms.path(b"moov")[-1].findall(b"trak"):
            for handler in track.findall(b"hdlr", recursive=True):
                stream.seek(handler.offset + 16)
                if stream.read(4) == b"vide":
                    raise MediaProblem(NOT_AUDIO)
        stream.seek(0)
        info = MP4(stream).info
    else:
        found = mutagen.File(stream)
        if found is None or type(found).__name__ in {"OggTheora"}:
            raise MediaProblem(NOT_AUDIO)
        info = found.info
    seconds = float(getattr(info, "length", 0) or 0)
    if container == "wav":  # a header may claim audio the file does not hold
        byte_rate = (getattr(info, "sample_rate", 0) * getattr(info, "channels", 0)
                     * getattr(info, "bits_per_sample", 0) // 8)
        stream.seek(0, io.SEEK_END)
        seconds = min(seconds, stream.tell() / byte_rate) if byte_rate else 0
    return seconds


def _count_atoms(stream: IO[bytes], end: int, budget: list[int]) -> None:
    """Walk an MP4's boxes (atoms), giving up after :data:`MAX_MP4_ATOMS` of them: millions
    of tiny atoms would otherwise cost mutagen minutes and gigabytes."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf"}
    while stream.tell() + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise MediaProblem(BROKEN)
        start = stream.tell()
        size, name = struct.unpack(">I4s", _read_exact(stream, 8))
        if size == 1:
            size = struct.unpack(">Q", _read_exact(stream, 8))[0]
        elif size == 0:
            size = end - start
        if size < 8 or start + size > end:
            raise MediaProblem(BROKEN)
        if name in containers:
            _count_atoms(stream, start + size, budget)
        stream.seek(start + size)


_WEBM_DESCEND = {0x18538067, 0x1F43B675, 0xA0, 0x1549A966, 0x1654AE6B, 0xAE}
_WEBM_MAX_ELEMENT = 16 * 1024 * 1024


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise MediaProblem(BROKEN)
    return data


def _vint(stream: IO[bytes], keep_marker: bool) -> tuple[int, bool] | None:
    """An EBML variable-length integer; (value, all-ones) or None at a clean end of file."""
    first = stream.read(1)
    if not first:
        return None
    length = 8 - first[0].bit_length() + 1
    if length > 8:
        raise MediaProblem(BROKEN)
    raw = first + _read_exact(stream, length - 1)
    value = int.from_bytes(raw, "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    return value, value == (1 << (7 * length)) - 1


def webm_seconds(stream: IO[bytes]) -> float:
    """Walk a WebM file element by element: check it is an audio-only WebM, and return the
    latest block time. Master elements with an unknown size (as live recorders write them)
    are simply entered, so the walk never needs to know where they end."""
    scale_ns, cluster_time, latest, declared, blocks = 1_000_000, 0, 0, 0.0, 0
    element = _vint(stream, keep_marker=True)
    if element is None or element[0] != 0x1A45DFA3:
        raise MediaProblem(NOT_AUDIO)
    size, _ = _vint(stream, keep_marker=False)
    if b"webm" not in _read_exact(stream, min(size, 256)):
        raise MediaProblem(NOT_AUDIO)
    elements = 0
    while (element := _vint(stream, keep_marker=True)) is not None:
        elements += 1
        if elements > MAX_WEBM_ELEMENTS:
            raise MediaProblem(BROKEN)
        element_id = element[0]
        size_info = _vint(stream, keep_marker=False)
        if size_info is None:
            raise MediaProblem(BROKEN)
        size, unknown = size_info
        if element_id in _WEBM_DESCEND:
            continue
        if unknown or size > _WEBM_MAX_ELEMENT:
            raise MediaProblem(BROKEN)
        data = _read_exact(stream, size)
        if element_id == 0x2AD7B1:  # TimecodeScale
            scale_ns = int.from_bytes(data, "big") or scale_ns
        elif element_id == 0x4489 and size in (4, 8):  # Duration
            declared = struct.unpack(">f" if size == 4 else ">d", data)[0]
        elif element_id == 0x83 and int.from_bytes(data, "big") != 2:  # TrackType, 2 = audio
            raise MediaProblem(NOT_AUDIO)
        elif element_id == 0xE7:  # Cluster Timecode
            cluster_time = int.from_bytes(data, "big")
        elif element_id in (0xA3, 0xA1):  # SimpleBlock, Block
            track = io.BytesIO(data)
            _vint(track, keep_marker=False)
            relative = int.from_bytes(_read_exact(track, 2), "big", signed=True)
            latest = max(latest, cluster_time + relative)
            blocks += 1
    if not blocks:
        raise MediaProblem(BROKEN)
    return max(latest, declared) * scale_ns / 1e9


# ---------------------------------------------------------------------------------------
# Photos of drawings


def clean_image(stream: IO[bytes]) -> tuple[bytes, Kind]:
    """Decode, turn upright, shrink if huge, and re-encode without any metadata."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
        with image:
            source_format = image.format
            if source_format not in IMAGE_KINDS and not (HEIC and source_format == "HEIF"):
                raise MediaProblem(NOT_IMAGE)
            limit = MAX_JPEG_PIXELS if source_format == "JPEG" else MAX_IMAGE_PIXELS
            if image.width * image.height > limit:  # checked before decoding
                raise MediaProblem(TOO_MANY_PIXELS)
            image.draft("RGB", (LONGEST_SIDE, LONGEST_SIDE))  # JPEG: decode at a smaller scale
            image.load()
            upright = ImageOps.exif_transpose(image)
    except MediaProblem:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaProblem(TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise MediaProblem(NOT_IMAGE) from None
    except Exception:  # noqa: BLE001 - truncated or corrupt data
        raise MediaProblem(BROKEN) from None
    kind = IMAGE_KINDS.get(source_format, IMAGE_KINDS["JPEG"])
    if max(upright.size) > LONGEST_SIDE:
        upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    if kind.mime == "image/jpeg" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    # A new image from the pixels alone: nothing from the original file's metadata survives.
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if kind.mime == "image/jpeg":
        clean.save(out, format="JPEG", quality=85, optimize=True)
    elif kind.mime == "image/png":
        clean.save(out, format="PNG", compress_level=6)
    else:
        clean.save(out, format="WEBP", quality=85)
    return out.getvalue(), kind


# ---------------------------------------------------------------------------------------
# Checking a file in a child process with hard limits


@dataclass(frozen=True)
class Inspected:
    """What the child process found: the file's kind, and for a voice note its length, for a
    photo the cleaned image (to keep instead of the original)."""

    kind: Kind
    seconds: float | None = None
    image: bytes | None = None


def check(expected: str, stream: IO[bytes]) -> Inspected:
    """The checks themselves: ``expected`` is "audio" or "image"."""
    stream.seek(0)
    container = sniff(stream.read(64))
    if expected == "audio":
        if container not in AUDIO_KINDS:
            raise MediaProblem(NOT_AUDIO)
        return Inspected(AUDIO_KINDS[container], seconds=audio_seconds(container, stream))
    if container not in ("jpeg", "png", "webp", "heic"):
        raise MediaProblem(NOT_IMAGE)
    image, kind = clean_image(stream)
    return Inspected(kind, image=image)


def inspect(expected: str, pieces: Iterable[bytes]) -> Inspected:
    """Run :func:`check` on the file in ``pieces`` in a child process with hard limits.

    Raises :class:`MediaProblem` for a file we will not keep, :data:`TOO_HARD` when the
    child ran out of time or memory.
    """
    child = subprocess.Popen(
        [sys.executable, "-I", os.path.abspath(__file__), expected],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", "")})
    deadline = threading.Timer(DEADLINE_SECONDS, child.kill)
    deadline.start()
    try:
        try:
            for piece in pieces:
                child.stdin.write(piece)
            child.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the child stopped reading: its exit says why
        header = child.stdout.readline()
        body = child.stdout.read()
        child.wait()
    finally:
        deadline.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    try:
        found = json.loads(header)
    except ValueError:
        raise MediaProblem(TOO_HARD) from None
    if child.returncode != 0 or "problem" in found:
        raise MediaProblem(found.get("problem", TOO_HARD))
    kind = Kind(**found["kind"])
    if found.get("image_bytes") is not None and len(body) != found["image_bytes"]:
        raise MediaProblem(TOO_HARD)
    return Inspected(kind, seconds=found.get("seconds"),
                     image=body if found.get("image_bytes") is not None else None)


def _limit_this_process() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _child_main(expected: str) -> int:
    """The child process: read the file from stdin, write one JSON line and, for a photo,
    the cleaned image after it."""
    _limit_this_process()
    out = sys.stdout.buffer
    try:
        found = check(expected, io.BytesIO(sys.stdin.buffer.read()))
    except MediaProblem as problem:
        out.write(json.dumps({"problem": problem.code}).encode() + b"\n")
        return 0
    except MemoryError:
        out.write(json.dumps({"problem": TOO_HARD}).encode() + b"\n")
        return 0
    header = {"kind": found.kind.__dict__, "seconds": found.seconds,
              "image_bytes": None if found.image is None else len(found.image)}
    out.write(json.dumps(header).encode() + b"\n")
    if found.image is not None:
        out.write(found.image)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
