"""The pen-drawn digits' writers' file: the .Z decoder, the UNIPEN parser, the shared
strokes.json, their checks, and the download (to a local server; never the network)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_data import _offline, server  # noqa: F401 (fixtures: offline, a local HTTP server)

from digitnet import data, lzw
from digitnet.errors import DataError, DownloadError

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "pendigits-train"


# --------------------------------------------------------------------------- #
# A .Z writer, for the tests (compress's format, groups-of-8 padding included)
# --------------------------------------------------------------------------- #
def compress_z(data_: bytes, maxbits: int = 16, block_mode: bool = True, clear_every=None):
    """LZW-compress ``data_`` as Unix compress does (its output is checked against gzip)."""
    first_free = 257 if block_mode else 256
    table = {bytes([i]): i for i in range(256)}
    free, width, last = first_free, 9, 511
    segments = [[9, []]]
    w, since_clear = b"", 0
    for i in range(len(data_)):
        c = data_[i : i + 1]
        if w + c in table:
            w += c
            continue
        segments[-1][1].append(table[w])
        since_clear += 1
        if clear_every and block_mode and since_clear >= clear_every:
            segments[-1][1].append(256)
            table = {bytes([i]): i for i in range(256)}
            free, width, last, since_clear = first_free, 9, 511, 0
            segments.append([9, []])
            w = c
            continue
        if free > last:  # compress widens before adding this code's entry
            width += 1
            last = (1 << maxbits) if width == maxbits else (1 << width) - 1
            segments.append([width, []])
        if free < 1 << maxbits:
            table[w + c] = free
            free += 1
        w = c
    if w:
        segments[-1][1].append(table[w])
    bits = nbits = 0
    out = bytearray()
    for k, (wd, codes) in enumerate(segments):
        start = len(out) * 8 + nbits
        for code in codes:
            bits |= code << nbits
            nbits += wd
        if k < len(segments) - 1:  # pad to a whole group of 8 codes
            nbits += -(len(out) * 8 + nbits - start) % (wd * 8)
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    return lzw.MAGIC + bytes([maxbits | (0x80 if block_mode else 0)]) + bytes(out)


# --------------------------------------------------------------------------- #
# .Z
# --------------------------------------------------------------------------- #
def test_lzw_known_vector():
    """A stream made by the test writer and read back by gzip -d (at the time of writing)."""
    z = bytes.fromhex("1f9d90549e0829f2448a932754020e2ca890a04184")
    assert lzw.decompress(z) == b"TOBEORNOTTOBEORTOBEORNOT"


PAYLOADS = {
    "text": b"".join(
        b".PEN_DOWN\n %3d %3d\n.PEN_UP\n" % (i % 500, i * 7 % 500) for i in range(6000)
    ),
    "random": np.random.default_rng(1).integers(0, 256, 70_000, dtype=np.uint8).tobytes(),
    "runs": b"a" * 50_000 + b"b" * 3,
    "empty": b"",
}


@pytest.mark.parametrize("payload", PAYLOADS, ids=list(PAYLOADS))
@pytest.mark.parametrize(
    ("maxbits", "block", "clear"),
    [(16, True, None), (12, True, None), (10, True, 300), (16, False, None), (9, True, None)],
)
def test_lzw_round_trip(payload, maxbits, block, clear):
    z = compress_z(PAYLOADS[payload], maxbits, block, clear)
    assert lzw.decompress(z) == PAYLOADS[payload]


@pytest.mark.skipif(shutil.which("gzip") is None, reason="gzip (which reads .Z) is not installed")
@pytest.mark.parametrize(("maxbits", "clear"), [(16, None), (11, None), (12, 500)])
def test_lzw_agrees_with_gzip(maxbits, clear):
    """gzip -d reads .Z too: the test writer and the decoder both agree with it."""
    z = compress_z(PAYLOADS["text"], maxbits, True, clear)
    assert subprocess.run(["gzip", "-dc"], input=z, capture_output=True).stdout == PAYLOADS["text"]
    assert lzw.decompress(z) == PAYLOADS["text"]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"\x1f\x8b\x08", "wrong magic number"),
        (b"\x1f", "wrong magic number"),
        (b"\x1f\x9d\x88", "code width 8"),
        (b"\x1f\x9d\xb0", "unsupported .Z flags"),
        (b"\x1f\x9d\x90\xff\xff", "first code 511"),
    ],
)
def test_lzw_rejects_bad_streams(stream, message):
    with pytest.raises(lzw.ZError, match=re.escape(message)):
        lzw.decompress(stream)


def test_lzw_rejects_corrupt_codes_and_bombs():
    z = bytearray(compress_z(PAYLOADS["text"]))
    z[40:48] = b"\xff" * 8  # codes far beyond the table
    with pytest.raises(lzw.ZError, match="is not defined yet"):
        lzw.decompress(bytes(z))
    with pytest.raises(lzw.ZError, match="more than 1,000 bytes"):
        lzw.decompress(compress_z(PAYLOADS["runs"]), max_size=1000)


# --------------------------------------------------------------------------- #
# The UNIPEN text (pendigits-orig.tra), by the format's definition
# --------------------------------------------------------------------------- #
SAMPLE = """\
.VERSION 1.0
.INCLUDE dene.doc
.COMMENT A header comment: written by hand
  over two lines, from the UNIPEN 1.0 definition.
.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"
.HIERARCHY DIGIT
.COORD X Y
.SEGMENT DIGIT 0 ? "8"
.COMMENT 8 12 224
.PEN_DOWN
  267  333
  267  336
  264  344
.PEN_UP
.DT 100
.SEGMENT DIGIT 1-2 ? "4"
.COMMENT 4 3 17
.PEN_DOWN
  100  400
  100  300
  160  300
.PEN_UP
.DT 100
.PEN_DOWN
  150  420
  150  250
.PEN_UP
.DT 100
.SEGMENT DIGIT 3 ? "1"
.COMMENT 1 12 225
.PEN_DOWN
  250  450
  250  100
.PEN_UP
"""


def test_parse_unipen_sample():
    pen = data.parse_unipen(SAMPLE)
    assert len(pen) == 3
    assert pen.labels.tolist() == [8, 4, 1]
    assert pen.writers.tolist() == [12, 3, 12]
    assert pen.sample_no.tolist() == [224, 17, 225]
    assert [len(pen.strokes(i)) for i in range(3)] == [1, 2, 1]
    assert pen.strokes(0)[0].tolist() == [[267, 333], [267, 336], [264, 344]]
    assert pen.strokes(1)[1].tolist() == [[150, 420], [150, 250]]
    assert pen.points.dtype == np.int32 and len(pen.points) == 10
    first_two = pen.select([1, 0])
    assert first_two.labels.tolist() == [4, 8] and first_two.strokes(1)[0].tolist() == [
        [267, 333],
        [267, 336],
        [264, 344],
    ]


def test_parse_unipen_reads_the_coordinates_coord_names():
    text = SAMPLE.replace(".COORD X Y", ".COORD T Y X P")
    text = re.sub(r"^  (\d+)  (\d+)$", r" 5 \2 \1 90", text, flags=re.MULTILINE)
    swapped = data.parse_unipen(text)
    assert swapped.strokes(0)[0].tolist() == [[267, 333], [267, 336], [264, 344]]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('DIGIT 0 ? "8"', 'DIGIT 0 ? "x"', "label 'x' is not a digit"),
        (".COMMENT 8 12 224", ".COMMENT 3 12 224", "the .SEGMENT says 8, its .COMMENT 3"),
        (".COMMENT 8 12 224", ".COMMENT 8 twelve 224", "must be '<label> <writer>"),
        (".COMMENT 8 12 224\n", "", "has no '.COMMENT"),
        ("DIGIT 1-2 ?", "DIGIT 1 ?", "component 2 belongs to no digit"),
        ("DIGIT 3 ?", "DIGIT 2-3 ?", "component 2 is already in another digit"),
        ("DIGIT 3 ?", "DIGIT 3-4 ?", "component 4 does not exist"),
        ("DIGIT 3 ?", "DIGIT x ?", "unreadable components 'x'"),
        ('DIGIT 3 ? "1"', "DIGIT 3 ?", 'a .SEGMENT must read: level components quality "label"'),
        ("  267  336", "  267  3.5", "a point is not 2 integers"),
        ("  267  336", "  267", "a point is not 2 integers"),
        ("  267  336", "  267  9999999", "a coordinate beyond"),
        (
            ".PEN_UP\n.DT 100\n.SEGMENT DIGIT 1-2",
            ".DT 100\n.SEGMENT DIGIT 1-2",
            "inside a pen-down",
        ),
        (
            ".DT 100\n.SEGMENT DIGIT 3",
            ".DT 100\n 5 5\n.SEGMENT DIGIT 3",
            "points outside a pen-down",
        ),
        (".HIERARCHY DIGIT", ".HIERARCHY DIGIT\n.PEN_UP", ".PEN_UP without a .PEN_DOWN"),
        (".PEN_DOWN\n  250  450", ".PEN_DOWN\n.PEN_UP\n.PEN_DOWN\n  250  450", "with no points"),
        (".COORD X Y", ".COORD T P", ".COORD names no X and Y"),
    ],
)
def test_parse_unipen_rejects_bad_files(old, new, message):
    assert old in SAMPLE
    with pytest.raises(data._BadFile, match=re.escape(message)):
        data.parse_unipen(SAMPLE.replace(old, new, 1))


def test_parse_unipen_truncated_or_empty():
    with pytest.raises(data._BadFile, match="ends inside a pen-down component"):
        data.parse_unipen(SAMPLE[: SAMPLE.index("  150  250")])
    with pytest.raises(data._BadFile, match="no digit in it"):
        data.parse_unipen(".COMMENT nothing here\n")


# --------------------------------------------------------------------------- #
# strokes.json, and one digest for both forms
# --------------------------------------------------------------------------- #
def as_json(pen: data.PenStrokes, shuffle: bool = False) -> dict:
    """The shared form of ``pen`` (``index_in_file`` keeps the file order if shuffled)."""
    digits = [
        {
            "label": int(pen.labels[i]),
            "writer": int(pen.writers[i]),
            "index_in_file": i,
            "sample_no": int(pen.sample_no[i]),
            "strokes": [s.tolist() for s in pen.strokes(i)],
        }
        for i in range(len(pen))
    ]
    if shuffle:
        digits = digits[::-1]
    return {"source": "a test", "digits": digits}


def write_json(directory: Path, doc) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / data.PEN_STROKES_JSON
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_json_and_unipen_give_the_same_digits_and_digest(tmp_path):
    pen = data.parse_unipen(SAMPLE)
    write_json(tmp_path, as_json(pen, shuffle=True))
    again = data.load_pen_strokes(tmp_path, expected_sha256=data.pen_strokes_sha256(pen))
    assert again.labels.tolist() == [8, 4, 1]  # the file's order, by index_in_file
    assert data.pen_strokes_sha256(again) == data.pen_strokes_sha256(pen)
    for i in range(3):
        assert [s.tolist() for s in again.strokes(i)] == [s.tolist() for s in pen.strokes(i)]
    moved = data.parse_unipen(SAMPLE.replace("  264  344", "  264  345"))
    assert data.pen_strokes_sha256(moved) != data.pen_strokes_sha256(pen)


def test_load_pen_strokes_reads_the_unipen_file_plain_or_compressed(tmp_path):
    digest = data.pen_strokes_sha256(data.parse_unipen(SAMPLE))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / data.PEN_STROKES_FILE).write_text(SAMPLE)
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / f"{data.PEN_STROKES_FILE}.Z").write_bytes(compress_z(SAMPLE.encode()))
    for folder in ("plain", "z"):
        pen = data.load_pen_strokes(tmp_path / folder, download=False, expected_sha256=digest)
        assert pen.labels.tolist() == [8, 4, 1]


def good_doc() -> dict:
    return as_json(data.parse_unipen(SAMPLE))


def _set(doc: dict, i: int, key: str, value) -> dict:
    doc["digits"][i][key] = value
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _set(d, 0, "label", "8"), "digit #0: 'label' must be an integer"),
        (lambda d: _set(d, 1, "label", True), "digit #1: 'label' must be an integer"),
        (lambda d: _set(d, 1, "label", 10), "digit #1 has label 10, not a digit 0-9"),
        (lambda d: _set(d, 2, "label", -1), "digit #2 has label -1"),
        (lambda d: _set(d, 0, "writer", 0), "has writer 0, not a positive id"),
        (lambda d: _set(d, 0, "writer", None), "digit #0: 'writer' must be an integer"),
        (lambda d: _set(d, 2, "sample_no", 2.5), "'sample_no' must be an integer"),
        (lambda d: _set(d, 1, "index_in_file", 0), "two digits have the same 'index_in_file'"),
        (lambda d: _set(d, 0, "strokes", []), "must be a non-empty list of strokes"),
        (lambda d: _set(d, 0, "strokes", [[]]), "stroke #0 must be a non-empty list"),
        (
            lambda d: _set(d, 0, "strokes", [[[1, 2.5]]]),
            "stroke #0 must be a list of [x, y] integer",
        ),
        (lambda d: _set(d, 0, "strokes", [[[1, 2, 3]]]), "must be a list of [x, y] integer"),
        (lambda d: _set(d, 0, "strokes", [[[1, 2], [3]]]), "must be a list of [x, y] integer"),
        (lambda d: _set(d, 0, "strokes", [[["1", 2]]]), "must be a list of [x, y] integer"),
        (lambda d: _set(d, 0, "strokes", [[[1, 10**6]]]), "a coordinate beyond"),
        (lambda d: _set(d, 0, "strokes", [[[1, 10**30]]]), "must be a list of [x, y] integer"),
        (lambda d: {"digits": []}, 'no "digits" list in it'),
        (lambda d: [1, 2], 'no "digits" list in it'),
        (lambda d: {"digits": [3]}, "digit #0 is not an object"),
    ],
)
def test_load_pen_strokes_rejects_bad_json(tmp_path, change, message):
    write_json(tmp_path, change(good_doc()))
    with pytest.raises(DataError, match=re.escape(message)) as info:
        data.load_pen_strokes(tmp_path, download=False, expected_sha256=None)
    assert str(tmp_path / data.PEN_STROKES_JSON) in str(info.value)
    assert "download pen-strokes" in str(info.value)  # what to do about it


def test_load_pen_strokes_truncated_oversized_or_not_the_data_set(tmp_path, monkeypatch):
    text = json.dumps(good_doc())
    write_json(tmp_path, text[: len(text) // 2])
    with pytest.raises(DataError, match="not valid JSON"):
        data.load_pen_strokes(tmp_path, download=False, expected_sha256=None)
    write_json(tmp_path, text)
    with pytest.raises(DataError, match="its digits are not the expected ones"):
        data.load_pen_strokes(tmp_path, download=False)  # the real set's digest
    monkeypatch.setattr(data, "MAX_PEN_FILE_BYTES", 100)
    with pytest.raises(DataError, match="more than the 100 allowed"):
        data.load_pen_strokes(tmp_path, download=False, expected_sha256=None)
    (tmp_path / data.PEN_STROKES_JSON).unlink()
    (tmp_path / data.PEN_STROKES_FILE).write_bytes(b".SEGMENT \xff")
    monkeypatch.setattr(data, "MAX_PEN_FILE_BYTES", 1000)
    with pytest.raises(DataError, match="not UNIPEN text: a non-ASCII byte at offset 9"):
        data.load_pen_strokes(tmp_path, download=False, expected_sha256=None)
    (tmp_path / data.PEN_STROKES_FILE).write_bytes(compress_z(b"x" * 5000))
    with pytest.raises(DataError, match="unpacks to more than 1,000 bytes"):
        data.load_pen_strokes(tmp_path, download=False, expected_sha256=None)


def test_missing_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(data.PEN_STROKES_ENV, raising=False)
    with pytest.raises(DataError) as info:
        data.load_pen_strokes(tmp_path / "nothing", download=False)
    message = str(info.value)
    assert "python -m digitnet download pen-strokes" in message
    assert data.PEN_STROKES_URLS[0] in message and data.PEN_STROKES_ENV in message


def test_resolve_pen_strokes_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(data.PEN_STROKES_ENV, raising=False)
    assert data.resolve_pen_strokes_dir() == tmp_path / "xdg-cache" / "digitnet" / "pendigits"
    monkeypatch.setenv(data.PEN_STROKES_ENV, str(tmp_path / "env"))
    assert data.resolve_pen_strokes_dir() == tmp_path / "env"
    assert data.resolve_pen_strokes_dir(tmp_path / "arg") == tmp_path / "arg"


# --------------------------------------------------------------------------- #
# Download (a local server)
# --------------------------------------------------------------------------- #
def test_download_pen_strokes_verifies_and_keeps_the_file(tmp_path, server):  # noqa: F811
    digest = data.pen_strokes_sha256(data.parse_unipen(SAMPLE))
    server.serve("/bad/pendigits-orig.tra.Z", compress_z(SAMPLE.replace("264", "265").encode()))
    server.serve("/good/pendigits-orig.tra.Z", compress_z(SAMPLE.encode()))
    urls = [server.base + "/missing.Z", server.base + "/bad/pendigits-orig.tra.Z"]
    target = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        data.download_pen_strokes(target, urls=urls, expected_sha256=digest)
    assert "HTTP 404" in str(info.value) and "not the expected ones" in str(info.value)
    assert list(target.iterdir()) == []  # nothing half-written, nothing bad kept
    urls.append(server.base + "/good/pendigits-orig.tra.Z")
    path = data.download_pen_strokes(target, urls=urls, expected_sha256=digest)
    assert path == target / "pendigits-orig.tra.Z" and lzw.is_compressed(path.read_bytes())
    assert [p.name for p in target.iterdir()] == ["pendigits-orig.tra.Z"]
    assert data.download_pen_strokes(target, urls=[]) == path  # already there: no request
    assert data.load_pen_strokes(target, expected_sha256=digest).labels.tolist() == [8, 4, 1]


def test_load_pen_strokes_downloads_when_missing(tmp_path, server, monkeypatch):  # noqa: F811
    digest = data.pen_strokes_sha256(data.parse_unipen(SAMPLE))
    server.serve("/pendigits-orig.tra.Z", compress_z(SAMPLE.encode()))
    monkeypatch.setattr(data, "PEN_STROKES_URLS", (server.base + "/pendigits-orig.tra.Z",))
    monkeypatch.setenv(data.PEN_STROKES_ENV, str(tmp_path / "pen"))
    pen = data.load_pen_strokes(expected_sha256=digest)
    assert pen.labels.tolist() == [8, 4, 1]
    assert (tmp_path / "pen" / "pendigits-orig.tra.Z").is_file()


def test_download_never_asks_for_the_test_writers():
    """Only the 30 development writers' file is ever named; the 14 test writers' never."""
    assert data.PEN_STROKES_URLS
    assert all(url.endswith("/pendigits-orig.tra.Z") for url in data.PEN_STROKES_URLS)
    assert not any(".tes" in url or url.endswith(".zip") for url in data.PEN_STROKES_URLS)


# --------------------------------------------------------------------------- #
# The real shared file
# --------------------------------------------------------------------------- #
@pytest.mark.skipif(not (SHARED / "strokes.json").exists(), reason=f"no strokes.json in {SHARED}")
def test_the_shared_writers_file():
    pen = data.load_pen_strokes(SHARED, download=False)  # checks the content digest
    assert len(pen) == data.PEN_STROKES_COUNT == 7494
    assert sorted(np.unique(pen.writers).tolist()) == list(range(1, 31))
    assert np.bincount(pen.labels).tolist() == [780, 779, 780, 719, 780, 720, 720, 778, 719, 719]
    assert len(pen.stroke_start) - 1 == 9433  # pen-down strokes
    assert pen.points.min() >= 0 and pen.points.max() <= data.TABLET_SIDE
