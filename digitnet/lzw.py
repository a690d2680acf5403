"""Decompress Unix ``compress`` (``.Z``) files: LZW, as UCI still serves its oldest data sets.

Python's standard library reads gzip, bzip2, xz and zip, but not the ``.Z``
format of the 1980s ``compress`` program, and the pen-drawn digits' writers'
file (``pendigits-orig.tra.Z``) exists only in it. The format (as ``compress``
4.x and gzip's ``unlzw.c`` write and read it):

- a 3-byte header: the magic ``1F 9D``, then a flags byte: its low 5 bits are
  the largest code width ``maxbits`` (9 to 16), bit 7 is *block mode* (code 256
  is CLEAR: forget the table and start again at 9 bits); bits 5-6 are unused;
- then LZW codes, packed least significant bit first, starting 9 bits wide.
  Codes 0-255 are single bytes; each new code is the previous code's string
  plus the first byte of the current one (when the current code is the one
  being defined, the "KwKwK" case: the previous string plus its own first byte).
  The first free code is 257 in block mode (256 without).
- The width grows by one bit when the next free code no longer fits, up to
  ``maxbits``. A quirk every decoder must copy: ``compress`` writes its codes
  in groups of 8 (``width`` bytes), and when the width changes (or after a
  CLEAR) the rest of the current group is padding: reading resumes at the next
  multiple of ``width`` bytes from where the current width began.

:func:`decompress` raises :class:`ZError` with one sentence for anything
malformed, and never produces more than ``max_size`` bytes.
"""

from __future__ import annotations

MAGIC = b"\x1f\x9d"
INIT_BITS = 9
CLEAR = 256
MAX_OUTPUT = 256 * 1024 * 1024  #: the default cap on the decompressed size, bytes


class ZError(ValueError):
    """The data is not a valid ``.Z`` (compress) stream."""


def is_compressed(data: bytes) -> bool:
    """Whether ``data`` starts with the ``.Z`` magic number."""
    return data[:2] == MAGIC


def decompress(data: bytes, max_size: int = MAX_OUTPUT) -> bytes:
    """The bytes a ``.Z`` stream holds.

    Parameters
    ----------
    data : bytes
        The whole compressed file, header included.
    max_size : int
        Refuse (:class:`ZError`) to produce more than this many bytes.

    Raises
    ------
    ZError
        Wrong magic number, unsupported flags, an impossible code (a truncated or
        corrupt stream), or output beyond ``max_size``.
    """
    if len(data) < 3 or data[:2] != MAGIC:
        raise ZError("not a .Z (compress) file: wrong magic number")
    flags = data[2]
    maxbits, block_mode = flags & 0x1F, bool(flags & 0x80)
    if flags & 0x60:
        raise ZError(f"unsupported .Z flags 0x{flags:02X}")
    if not INIT_BITS <= maxbits <= 16:
        raise ZError(f"unsupported .Z code width {maxbits} (9 to 16 are valid)")
    first_free = CLEAR + 1 if block_mode else CLEAR
    max_code = 1 << maxbits  # codes are < this

    body = memoryview(data)[3:]
    total_bits = len(body) * 8
    table: list[bytes] = [bytes([i]) for i in range(256)]
    if block_mode:
        table.append(b"")  # 256: CLEAR, never a string
    out: list[bytes] = []
    size = 0
    width, last_code = INIT_BITS, (1 << INIT_BITS) - 1  # last_code: the widest code that fits
    segment_start = 0  # bit position where the current width began
    pos = 0  # bit position of the next code
    previous: bytes | None = None
    free = first_free
    while True:
        if free > last_code:  # the next code needs one more bit (as compress decides it)
            pos = _next_group(segment_start, pos, width)
            segment_start, width = pos, width + 1
            last_code = max_code if width == maxbits else (1 << width) - 1
        if pos + width > total_bits:
            break
        code = _read_code(body, pos, width)
        pos += width
        if block_mode and code == CLEAR:
            pos = _next_group(segment_start, pos, width)
            segment_start, width, last_code = pos, INIT_BITS, (1 << INIT_BITS) - 1
            del table[first_free:]
            free, previous = first_free, None
            continue
        if previous is None:
            if code >= 256:
                raise ZError(f"corrupt .Z stream: first code {code} is not a byte")
            entry = table[code]
        elif code < free:
            entry = table[code]
            if free < max_code:
                table.append(previous + entry[:1])
                free += 1
        elif code == free and free < max_code:  # KwKwK: the code being defined
            entry = previous + previous[:1]
            table.append(entry)
            free += 1
        else:
            raise ZError(f"corrupt or truncated .Z stream: code {code} is not defined yet")
        out.append(entry)
        size += len(entry)
        if size > max_size:
            raise ZError(f"the .Z stream unpacks to more than {max_size:,} bytes")
        previous = entry
    return b"".join(out)


def _read_code(body: memoryview, pos: int, width: int) -> int:
    """The ``width``-bit code at bit ``pos``, least significant bit first."""
    byte = pos >> 3
    chunk = int.from_bytes(body[byte : byte + 3], "little")  # 9-16 bits span at most 3 bytes
    return (chunk >> (pos & 7)) & ((1 << width) - 1)


def _next_group(segment_start: int, pos: int, width: int) -> int:
    """``pos`` rounded up to the next whole group of 8 codes since ``segment_start``."""
    group = width * 8
    return segment_start + -(-(pos - segment_start) // group) * group
