"""The TFRecord frame: length and CRC layout, the masked CRC-32C, compression names and detection.

A file is a sequence of records::

    uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

with ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2**32)``.
"""

from __future__ import annotations

import struct

from google_crc32c import value as _crc32c

from tfodkit.errors import UsageError

HEADER = struct.Struct("<QI")  # length, masked CRC of the 8 length bytes
LENGTH = struct.Struct("<Q")
CRC = struct.Struct("<I")
MASK_DELTA = 0xA282EAD8
CHUNK = 16 << 20  # records larger than this are read piecewise from streams of unknown size
# A length prefix above this, in a stream whose size is unknown (compressed, remote), is damage, not data: no
# tf.train.Example can be that large (protobuf's limit), and a decompression bomb must not fill the memory.
MAX_STREAM_RECORD_BYTES = 2 << 30
GZIP_SUFFIXES = (".gz", ".gzip")
ZLIB_SUFFIXES = (".zlib", ".zz")
WINDOW_BITS = {"gzip": 31, "zlib": 15}  # zlib's wbits: 16 + 15 selects the gzip wrapper


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that frames TFRecord lengths and data.

    Example:
        >>> hex(masked_crc32c(b"hello"))
        '0x191c1fbb'
    """
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def normalize_compression(compression: str | None, *, allow_auto: bool) -> str | None:
    """None, "gzip", "zlib" (or "auto"), from TF's spellings too ("GZIP", "ZLIB", "").

    Example:
        >>> normalize_compression("GZIP", allow_auto=False), normalize_compression("", allow_auto=False)
        ('gzip', None)
    """
    name = (compression or "").lower()
    if name in ("", "none"):
        return None
    if name in ("gzip", "zlib") or (allow_auto and name == "auto"):
        return name
    allowed = "None, 'gzip', 'zlib'" + (" or 'auto'" if allow_auto else "")
    raise UsageError(f"unknown compression {compression!r}: use {allowed}")


def frame(data: bytes) -> tuple[bytes, bytes]:
    """(header, footer) around ``data``: length, masked CRC of the length; masked CRC of the data.

    Example:
        >>> [len(part) for part in frame(b"abc")]
        [12, 4]
    """
    length = LENGTH.pack(len(data))
    return length + CRC.pack(masked_crc32c(length)), CRC.pack(masked_crc32c(data))


def detect_compression(head: bytes, path: str = "") -> str | None:
    """The compression of a TFRecord file from its first bytes (and its name as the last resort).

    A plain file starts with a length whose masked CRC verifies; otherwise the gzip magic (1f 8b) or a valid
    zlib header (CMF/FLG, checked mod 31) decide, then the suffix (``.gz``/``.gzip``, ``.zlib``/``.zz``).

    Example:
        >>> detect_compression(b"\\x1f\\x8b\\x08\\x00"), detect_compression(b"\\x78\\x9c")
        ('gzip', 'zlib')
    """
    if len(head) >= 12:
        _, crc = HEADER.unpack_from(head)
        if masked_crc32c(head[:8]) == crc:
            return None
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"
    lowered = path.lower()
    if lowered.endswith(GZIP_SUFFIXES):
        return "gzip"
    if lowered.endswith(ZLIB_SUFFIXES):
        return "zlib"
    return None
