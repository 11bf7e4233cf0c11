"""What an uploaded file really is, and making it safe to keep.

The type comes from the file's first bytes (its "magic"), never from its name or what the
browser claims. Voice notes must be audio only, in a container we can check, no longer
than the limit. Photos are decoded and re-encoded by Pillow, which leaves every piece of
metadata behind (EXIF, GPS, camera serials, comments, colour profiles); HEIC photos from
iPhones become JPEG, because browsers cannot show HEIC.

Mutagen reads the length of Ogg, MP4/M4A, WAV and MP3 recordings. It cannot read WebM, the
format Chrome and Firefox record in, and no well-kept Python library does, so a small WebM
(EBML) reader below walks the file's clusters and block timestamps to find its length.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import IO

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC photos from iPhones, when the optional decoder is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIC = False

MAX_IMAGE_PIXELS = 30_000_000
LONGEST_SIDE = 3000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class MediaProblem(ValueError):
    """A file we will not keep, with a kind message for the person who sent it."""


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

NOT_AUDIO = _l("That file is not a voice note we can play. Try to record it again. Or choose "
               "another file.")
NOT_IMAGE = _l("That file is not a photo we can open. Please take the photo again.")
TOO_MANY_PIXELS = _l("That photo is too big for us to open. Please send a smaller one.")
BROKEN = _l("That file seems to be broken or only partly sent. Please try again.")


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
        if container == "webm":
            return webm_seconds(stream)
        return _mutagen_seconds(container, stream)
    except MediaProblem:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means a file we will not keep
        raise MediaProblem(BROKEN) from None


def _mutagen_seconds(container: str, stream: IO[bytes]) -> float:
    import mutagen
    from mutagen.mp4 import MP4, Atoms

    if container == "mp4":
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
    if seconds <= 0:
        raise MediaProblem(BROKEN)
    return seconds


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
    while (element := _vint(stream, keep_marker=True)) is not None:
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
            if image.width * image.height > MAX_IMAGE_PIXELS:  # checked before decoding
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
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="WEBP", quality=85)
    return out.getvalue(), kind
