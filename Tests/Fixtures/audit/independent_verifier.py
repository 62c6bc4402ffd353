#!/usr/bin/env python3
"""Independent verifier for Ringfence's tamper-evident audit log.

Written from docs/audit.md and SPEC §9 alone, on public standards:
RFC 8785 (JSON canonicalization), RFC 9162 §2.1 (Merkle trees, inclusion and
consistency proofs), C2SP tlog-checkpoint and signed-note (Ed25519).

    python3 independent_verifier.py --log LOG.jsonl [--proof PROOF.json]
        [--checkpoint NOTE.txt] [--old-checkpoint NOTE.txt] --key VERIFIER_KEY
    python3 independent_verifier.py --self-test

LOG.jsonl is `ringfence audit log --format json`: one object a line, the
envelope's eight members plus `hash` (hex entry hash) and `data` (the stored
data, or null once purged). NOTE.txt is `ringfence audit checkpoint`'s note;
PROOF.json is `ringfence audit prove SEQ`'s object. VERIFIER_KEY is the key
text `<name>+<8 hex key ID>+<base64(0x01 ‖ public key)>`.

Prints one JSON object:
    {"entries": n, "root": "<hex>", "checks": {"hashes": …, "chain": …,
     "data": …, "checkpoint": …, "inclusion": …, "consistency": …},
     "failures": [...]}
(a check that was not requested is null). Exit status: 0 when every requested
check passes, 1 when any fails, 2 on a usage error or unreadable input (a file
that cannot be read, a log or proof line that is not a JSON object, a verifier
key that cannot be used); the message then goes to stderr.

Only the `cryptography` package is needed, for Ed25519.
"""

import argparse
import base64
import datetime
import hashlib
import json
import math
import os
import re
import struct
import sys
import tempfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


class Unreadable(Exception):
    """Input that cannot be read at all (exit status 2)."""


class Malformed(Exception):
    """Input that can be read but breaks its format (a verification failure)."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


ZERO_HASH_HEX = "0" * 64
MAX_SEQ = 2**53 - 1
MAX_SIZE = 2**64 - 1
MAX_FAILURES_SHOWN = 1000

# ---------------------------------------------------------------------------
# RFC 8785: JSON Canonicalization Scheme
# ---------------------------------------------------------------------------


class JCSError(ValueError):
    pass


def jcs_number(x) -> str:
    """ECMAScript Number.prototype.toString of an IEEE-754 double (RFC 8785 §3.2.2.3)."""
    if isinstance(x, bool):
        raise JCSError("a boolean is not a number")
    if isinstance(x, int):
        try:
            x = float(x)  # correctly rounded, ties to even
        except OverflowError:
            raise JCSError("number out of the range of a double") from None
    if not isinstance(x, float):
        raise JCSError("not a number")
    if math.isnan(x) or math.isinf(x):
        raise JCSError("NaN and the infinities cannot be written")
    if x == 0:
        return "0"  # also -0
    sign = "-" if x < 0 else ""
    # Python's repr gives the shortest digit string that reads back to the same
    # double, the closest such (float_repr_style 'short', checked in the self-test).
    text = repr(abs(x))
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = exponent - len(frac_part)  # value = int(digits) * 10**point
    digits = digits.lstrip("0")
    stripped = digits.rstrip("0")
    point += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = k + point  # value = 0.digits * 10**n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        e_text = ("+" if e >= 0 else "-") + str(abs(e))
        if k == 1:
            out = digits + "e" + e_text
        else:
            out = digits[0] + "." + digits[1:] + "e" + e_text
    return sign + out


_SHORT_ESCAPES = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
}


def jcs_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if o in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[o])
        elif o < 0x20:
            out.append("\\u%04x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            raise JCSError("a lone surrogate cannot be written as UTF-8")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequence of code units.
    return name.encode("utf-16-be", "surrogatepass")


def _jcs(value, depth: int) -> str:
    if depth > 1000:
        raise JCSError("nested too deeply")
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return jcs_number(value)
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_jcs(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise JCSError("object member names must be strings")
        names = sorted(value, key=_utf16_key)
        return "{" + ",".join(
            jcs_string(name) + ":" + _jcs(value[name], depth + 1) for name in names
        ) + "}"
    raise JCSError("cannot canonicalize a %s" % type(value).__name__)


def jcs(value) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    return _jcs(value, 0).encode("utf-8")


def _no_duplicate_members(pairs):
    obj = {}
    for name, value in pairs:
        if name in obj:
            raise ValueError("duplicate member name %r" % name)
        obj[name] = value
    return obj


def _no_constants(name):
    raise ValueError("%s is not JSON" % name)


def parse_json(text: str):
    """Strict JSON: no duplicate member names, no NaN/Infinity."""
    return json.loads(
        text, object_pairs_hook=_no_duplicate_members, parse_constant=_no_constants
    )


# ---------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_hex64(s) -> bool:
    return isinstance(s, str) and _HEX64.match(s) is not None


def b64decode_canonical(s: str) -> bytes:
    """Standard base64 with padding; only the canonical encoding is accepted."""
    if not isinstance(s, str) or not s or not s.isascii():
        raise Malformed("not base64")
    try:
        raw = base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        raise Malformed("not base64: %r" % s) from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise Malformed("not canonical base64: %r" % s)
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# ---------------------------------------------------------------------------
# RFC 9162 §2.1 Merkle trees
# ---------------------------------------------------------------------------


def leaf_hash(entry_hash: bytes) -> bytes:
    return sha256(b"\x00" + entry_hash)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves, lo: int = 0, hi: int = None) -> bytes:
    """MTH(D[lo:hi]) over leaf hashes, by the RFC's recursive definition."""
    if hi is None:
        hi = len(leaves)
    n = hi - lo
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[lo]
    k = split_point(n)
    return node_hash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi))


def inclusion_path(m: int, leaves, lo: int, hi: int):
    """PATH(m, D[lo:hi]), nearest the leaf first (RFC 9162 §2.1.3.1)."""
    n = hi - lo
    if not 0 <= m < n:
        raise ValueError("leaf index out of range")
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return inclusion_path(m, leaves, lo, lo + k) + [mth(leaves, lo + k, hi)]
    return inclusion_path(m - k, leaves, lo + k, hi) + [mth(leaves, lo, lo + k)]


def _subproof(m: int, leaves, lo: int, hi: int, whole: bool):
    n = hi - lo
    if m == n:
        return [] if whole else [mth(leaves, lo, hi)]
    k = split_point(n)
    if m <= k:
        return _subproof(m, leaves, lo, lo + k, whole) + [mth(leaves, lo + k, hi)]
    return _subproof(m - k, leaves, lo + k, hi, False) + [mth(leaves, lo, lo + k)]


def consistency_proof(m: int, n: int, leaves):
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1); [] for m = 0 or m = n."""
    if not 0 <= m <= n <= len(leaves):
        raise ValueError("sizes out of range")
    if m == 0 or m == n:
        return []
    return _subproof(m, leaves, 0, n, True)


def verify_inclusion(leaf: bytes, index: int, size: int, proof, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not (0 <= index < size):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32:
            return False
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, root1: bytes, root2: bytes, proof) -> bool:
    """RFC 9162 §2.1.4.2, with the edge cases m = n and m = 0 of docs/audit.md §3.3."""
    if m < 0 or n < 0 or m > n:
        return False
    if any(len(p) != 32 for p in proof):
        return False
    if m == n:
        return len(proof) == 0 and root1 == root2
    if m == 0:
        return len(proof) == 0 and root1 == sha256(b"")
    if len(proof) == 0:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root1)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


# ---------------------------------------------------------------------------
# Keys and signed notes (C2SP signed-note, golang.org/x/mod/sumdb/note)
# ---------------------------------------------------------------------------

ALG_ED25519 = 0x01
EM_DASH_PREFIX = "\u2014 "  # bytes E2 80 94 20
MAX_NOTE_BYTES = 65536
MAX_SIGNATURES = 100


def valid_key_name(name: str) -> bool:
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)
    )


def key_id(name: str, typed_key: bytes) -> int:
    """First 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ type ‖ key)."""
    return struct.unpack(">I", sha256(name.encode("utf-8") + b"\n" + typed_key)[:4])[0]


class VerifierKey:
    def __init__(self, name: str, kid: int, public_key: bytes):
        self.name = name
        self.key_id = kid
        self.public_key = public_key

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        parts = text.split("+", 2)  # the base64 may itself contain '+'
        if len(parts) != 3:
            raise Malformed("a verifier key is <name>+<key ID>+<base64 key>")
        name, kid_hex, key_b64 = parts
        if not valid_key_name(name):
            raise Malformed("invalid key name %r" % name)
        if not re.fullmatch(r"[0-9A-Fa-f]{8}", kid_hex):
            raise Malformed("the key ID must be 8 hex digits")
        typed = b64decode_canonical(key_b64)
        if len(typed) != 33 or typed[0] != ALG_ED25519:
            raise Malformed("not an Ed25519 verifier key (type 0x01 and 32 bytes)")
        kid = int(kid_hex, 16)
        if key_id(name, typed) != kid:
            raise Malformed(
                "the key ID %s is not the key's own (%08x)" % (kid_hex, key_id(name, typed))
            )
        return cls(name, kid, typed[1:])

    def text(self) -> str:
        return "%s+%08x+%s" % (
            self.name, self.key_id, b64encode(bytes([ALG_ED25519]) + self.public_key))

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False


class Note:
    def __init__(self, text: bytes, signatures):
        self.text = text  # the signed message, ending in '\n'
        self.signatures = signatures  # [(name, key ID, signature bytes)]


def parse_note(data: bytes) -> Note:
    if len(data) > MAX_NOTE_BYTES:
        raise Malformed("the note is longer than %d bytes" % MAX_NOTE_BYTES)
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the note is not UTF-8") from None
    for ch in s:
        if ord(ch) < 0x20 and ch != "\n":
            raise Malformed("the note has a control character U+%04X" % ord(ch))
    split = data.rfind(b"\n\n")
    if split < 0:
        # no blank line: an unsigned note, the text alone
        if not data or not data.endswith(b"\n"):
            raise Malformed("the note's text must end with a newline")
        return Note(data, [])
    text, sig_part = data[: split + 1], data[split + 2:]
    if not sig_part or not sig_part.endswith(b"\n"):
        raise Malformed("the note's signature lines must end with a newline")
    signatures = []
    for line in sig_part[:-1].decode("utf-8").split("\n"):
        if not line.startswith(EM_DASH_PREFIX):
            raise Malformed("a signature line must start with an em dash and a space")
        name, sep, b64 = line[len(EM_DASH_PREFIX):].partition(" ")
        if not sep or not valid_key_name(name) or not b64:
            raise Malformed("malformed signature line %r" % line)
        raw = b64decode_canonical(b64)
        if len(raw) < 5:
            raise Malformed("a signature must be at least 5 bytes")
        signatures.append((name, struct.unpack(">I", raw[:4])[0], raw[4:]))
        if len(signatures) > MAX_SIGNATURES:
            raise Malformed("more than %d signatures" % MAX_SIGNATURES)
    return Note(text, signatures)


def note_status(note: Note, key: VerifierKey) -> str:
    """'verified', 'bad signature', 'signed by an unknown key' or 'unsigned' (C2SP rules)."""
    if not note.signatures:
        return "unsigned"
    matched = False
    for name, kid, sig in note.signatures:
        if name == key.name and kid == key.key_id:
            matched = True
            if not key.verify(note.text, sig):
                return "bad signature"
    return "verified" if matched else "signed by an unknown key"


def read_note_file(data: bytes) -> bytes:
    # A well-formed note never ends in a blank line, so one extra trailing newline
    # (a printer's) is dropped before parsing.
    if data.endswith(b"\n\n"):
        data = data[:-1]
    return data


def parse_checkpoint_text(text: bytes):
    """C2SP tlog-checkpoint body: (origin, size, root, extension lines)."""
    lines = text.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise Malformed("a checkpoint is <origin>\\n<size>\\n<base64 root>\\n")
    lines = lines[:-1]
    origin, size_text, root_text, extensions = lines[0], lines[1], lines[2], lines[3:]
    if not origin or any(ord(ch) < 0x20 for ch in origin):
        raise Malformed("the checkpoint's origin is empty or has a control character")
    if not re.fullmatch(r"0|[1-9][0-9]*", size_text) or int(size_text) > MAX_SIZE:
        raise Malformed("the checkpoint's size %r is not a decimal in 0…2^64−1" % size_text)
    root = b64decode_canonical(root_text)
    if len(root) != 32:
        raise Malformed("the checkpoint's root is not 32 bytes")
    if any(line == "" for line in extensions):
        raise Malformed("the checkpoint has an empty extension line")
    return origin, int(size_text), root, extensions


def sign_note(text: bytes, name: str, seed: bytes) -> bytes:
    """Sign text as a one-signature note (used by the self-test)."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = key_id(name, bytes([ALG_ED25519]) + public)
    sig = private.sign(text)
    line = EM_DASH_PREFIX + name + " " + b64encode(struct.pack(">I", kid) + sig) + "\n"
    return text + b"\n" + line.encode("utf-8")


# ---------------------------------------------------------------------------
# Entries
# ---------------------------------------------------------------------------

ENVELOPE_MEMBERS = ("v", "seq", "time", "kind", "session", "agent", "data_hash", "prev")
LOG_MEMBERS = ENVELOPE_MEMBERS + ("hash", "data")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z\Z")


def is_integer_number(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and math.isfinite(x) and x == int(x)


def valid_time(s) -> bool:
    if not isinstance(s, str):
        return False
    m = _TIME.match(s)
    if not m:
        return False
    y, mo, d, h, mi, sec, _ = (int(g) for g in m.groups())
    if y < 1:
        return False
    try:
        datetime.datetime(y, mo, d, h, mi, sec)
    except ValueError:
        return False
    return True


def envelope_problems(obj: dict, members=LOG_MEMBERS):
    """What is wrong with an entry's shape (docs/audit.md §2.1), as messages."""
    problems = []
    for name in members:
        if name not in obj:
            problems.append("member %s is missing" % name)
    for name in obj:
        if name not in members:
            problems.append("unknown member %s" % name)
    if "v" in obj and not (is_integer_number(obj["v"]) and obj["v"] == 1):
        problems.append("v is %s, expected 1" % json.dumps(obj["v"]))
    if "seq" in obj and not (is_integer_number(obj["seq"]) and 0 <= obj["seq"] <= MAX_SEQ):
        problems.append("seq is not an integer in 0…2^53−1")
    if "time" in obj and not valid_time(obj["time"]):
        problems.append("time %s is not YYYY-MM-DDThh:mm:ss.ffffffZ" % json.dumps(obj["time"]))
    if "kind" in obj and not (isinstance(obj["kind"], str) and obj["kind"]):
        problems.append("kind is not a non-empty string")
    for name in ("session", "agent"):
        if name in obj and not (obj[name] is None or isinstance(obj[name], str)):
            problems.append("%s is neither a string nor null" % name)
    for name in ("data_hash", "prev", "hash"):
        if name in members and name in obj and not is_hex64(obj[name]):
            problems.append("%s is not 64 lowercase hex digits" % name)
    return problems


def envelope_hash(obj: dict) -> bytes:
    envelope = {name: obj[name] for name in ENVELOPE_MEMBERS if name in obj}
    return sha256(jcs(envelope))


def check_entry(obj: dict, label: str, failures) -> tuple:
    """Shape, entry hash and data hash of one entry as printed by `audit log`.

    Returns (entry hash bytes to chain and tree on, hashes ok, data ok).
    """
    hashes_ok = True
    data_ok = True
    for problem in envelope_problems(obj):
        failures.append("%s: %s" % (label, problem))
        hashes_ok = False
    computed = None
    try:
        computed = envelope_hash(obj)
    except JCSError as e:
        failures.append("%s: the envelope cannot be canonicalized (%s)" % (label, e))
        hashes_ok = False
    stated = obj.get("hash")
    if computed is not None and is_hex64(stated) and computed.hex() != stated:
        failures.append("%s: hash does not match the envelope (computed %s)"
                        % (label, computed.hex()))
        hashes_ok = False
    if computed is None:
        computed = bytes.fromhex(stated) if is_hex64(stated) else b"\xff" * 32
    data = obj.get("data")
    if data is not None:
        try:
            data_hash = sha256(jcs(data)).hex()
        except JCSError as e:
            failures.append("%s: data cannot be canonicalized (%s)" % (label, e))
            data_ok = False
        else:
            if data_hash != obj.get("data_hash"):
                failures.append("%s: data does not match its data_hash" % label)
                data_ok = False
    return computed, hashes_ok, data_ok


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Unreadable("%s: %s" % (path, e.strerror or e)) from None


def read_log(path: str):
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("%s: not UTF-8" % path) from None
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = parse_json(line)
        except (ValueError, RecursionError) as e:
            raise Unreadable("%s:%d: not JSON (%s)" % (path, number, e)) from None
        if not isinstance(obj, dict):
            raise Unreadable("%s:%d: not a JSON object" % (path, number))
        entries.append(obj)
    return entries


def load_signed_checkpoint(data: bytes, key: VerifierKey, what: str, failures):
    """Parse a checkpoint note and check its signature.

    Returns ((size, root) or None, signature ok).
    """
    try:
        note = parse_note(read_note_file(data))
        _, size, root, _ = parse_checkpoint_text(note.text)
    except (Malformed, UnicodeDecodeError) as e:
        failures.append("%s: %s" % (what, e))
        return None, False
    status = note_status(note, key)
    if status != "verified":
        failures.append("%s: %s (key %s)" % (what, status, key.name))
    return (size, root), status == "verified"


def verify(log_path, key_text=None, checkpoint_path=None, proof_path=None,
           old_checkpoint_path=None):
    """Run the requested checks; returns (report dict, exit status)."""
    needs_key = checkpoint_path or proof_path or old_checkpoint_path
    key = None
    if needs_key:
        if key_text is None:
            raise Unreadable("--key is needed to check a checkpoint, a proof or an old checkpoint")
        try:
            key = VerifierKey.parse(key_text)
        except Malformed as e:
            raise Unreadable("--key: %s" % e) from None

    entries = read_log(log_path)
    checkpoint_bytes = read_bytes(checkpoint_path) if checkpoint_path else None
    old_bytes = read_bytes(old_checkpoint_path) if old_checkpoint_path else None
    proof_obj = None
    if proof_path:
        raw = read_bytes(proof_path)
        try:
            proof_obj = parse_json(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise Unreadable("%s: not JSON (%s)" % (proof_path, e)) from None
        if not (isinstance(proof_obj, dict)
                and isinstance(proof_obj.get("entry"), dict)
                and isinstance(proof_obj.get("proof"), list)
                and isinstance(proof_obj.get("checkpoint"), str)):
            raise Unreadable('%s: not {"entry": {…}, "proof": […], "checkpoint": "…"}'
                             % proof_path)

    failures = []
    checks = {"hashes": True, "chain": True, "data": True,
              "checkpoint": None, "inclusion": None, "consistency": None}

    # The log: entry hashes, the prev chain, seq continuity, data hashes.
    entry_hashes = []
    previous = bytes(32)
    for position, obj in enumerate(entries):
        label = "entry %d" % position
        computed, hashes_ok, data_ok = check_entry(obj, label, failures)
        checks["hashes"] &= hashes_ok
        checks["data"] &= data_ok
        seq = obj.get("seq")
        if not (is_integer_number(seq) and seq == position):
            failures.append("%s: seq is %s, expected %d" % (label, json.dumps(seq), position))
            checks["chain"] = False
        prev = obj.get("prev")
        if prev != previous.hex():
            if position == 0:
                failures.append("%s: prev is not 64 zeros" % label)
            else:
                failures.append("%s: prev does not match the hash of entry %d"
                                % (label, position - 1))
            checks["chain"] = False
        entry_hashes.append(computed)
        previous = computed
    leaves = [leaf_hash(h) for h in entry_hashes]
    n = len(leaves)
    root = mth(leaves)

    # --checkpoint: signature, and size/root against the log.
    new_checkpoint = None
    if checkpoint_bytes is not None:
        parsed, sig_ok = load_signed_checkpoint(checkpoint_bytes, key, "checkpoint", failures)
        ok = sig_ok
        if parsed is not None:
            size, cp_root = parsed
            if size > n:
                failures.append("checkpoint: size %d exceeds the log's %d entries "
                                "(the log was truncated)" % (size, n))
                ok = False
            elif mth(leaves, 0, size) != cp_root:
                failures.append("checkpoint: root does not match the root of the first "
                                "%d entries" % size)
                ok = False
            else:
                new_checkpoint = (size, cp_root)
        checks["checkpoint"] = bool(ok and parsed is not None)

    # --proof: entry, inclusion proof, checkpoint signature, agreement with the log.
    if proof_obj is not None:
        ok = True
        entry = proof_obj["entry"]
        proof_failures = []
        computed, hashes_ok, data_ok = check_entry(entry, "proof: entry", proof_failures)
        failures.extend(proof_failures)
        ok &= hashes_ok and data_ok
        proof_hashes = []
        for i, p in enumerate(proof_obj["proof"]):
            if not is_hex64(p):
                failures.append("proof: proof[%d] is not 64 lowercase hex digits" % i)
                ok = False
            else:
                proof_hashes.append(bytes.fromhex(p))
        parsed, sig_ok = load_signed_checkpoint(
            proof_obj["checkpoint"].encode("utf-8"), key, "proof: checkpoint", failures)
        ok &= sig_ok
        seq = entry.get("seq")
        if parsed is None or not is_integer_number(seq) or seq < 0:
            ok = False
        else:
            size, cp_root = parsed
            seq = int(seq)
            well_formed = len(proof_hashes) == len(proof_obj["proof"])
            if not well_formed:
                pass  # already reported
            elif seq >= size:
                failures.append("proof: entry %d is not in the checkpoint of size %d"
                                % (seq, size))
                ok = False
            elif not verify_inclusion(leaf_hash(computed), seq, size, proof_hashes, cp_root):
                failures.append("proof: the inclusion proof of entry %d does not lead to "
                                "the checkpoint's root at size %d" % (seq, size))
                ok = False
            # Agreement with the log.
            if size > n:
                failures.append("proof: the checkpoint's size %d exceeds the log's %d entries"
                                % (size, n))
                ok = False
            elif seq < size:
                if mth(leaves, 0, size) != cp_root:
                    failures.append("proof: the checkpoint's root does not match the root "
                                    "of the log's first %d entries" % size)
                    ok = False
                if entry_hashes[seq] != computed:
                    failures.append("proof: the entry differs from entry %d of the log" % seq)
                    ok = False
                if well_formed and inclusion_path(seq, leaves, 0, size) != proof_hashes:
                    failures.append("proof: the proof differs from the one computed from "
                                    "the log")
                    ok = False
        checks["inclusion"] = bool(ok)

    # --old-checkpoint: consistency from its size to the log (and to --checkpoint).
    if old_bytes is not None:
        parsed, sig_ok = load_signed_checkpoint(old_bytes, key, "old checkpoint", failures)
        ok = sig_ok
        if parsed is None:
            ok = False
        else:
            m, old_root = parsed
            targets = [(n, root, "the log (%d entries)" % n)]
            if new_checkpoint is not None and new_checkpoint[0] != n:
                targets.append((new_checkpoint[0], new_checkpoint[1],
                                "the checkpoint (size %d)" % new_checkpoint[0]))
            for size, new_root, what in targets:
                if m > size:
                    failures.append("old checkpoint: size %d exceeds %s" % (m, what))
                    ok = False
                    continue
                proof = consistency_proof(m, size, leaves)
                if not verify_consistency(m, size, old_root, new_root, proof):
                    failures.append("old checkpoint: no consistency from size %d to %s; "
                                    "the log does not extend it" % (m, what))
                    ok = False
            if m <= n and mth(leaves, 0, m) != old_root:
                failures.append("old checkpoint: root does not match the root of the first "
                                "%d entries" % m)
                ok = False
        checks["consistency"] = bool(ok)

    passed = all(v is not False for v in checks.values()) and not failures
    if len(failures) > MAX_FAILURES_SHOWN:
        more = len(failures) - MAX_FAILURES_SHOWN
        failures = failures[:MAX_FAILURES_SHOWN] + ["… and %d more failures" % more]
    report = {"entries": n, "root": root.hex(), "checks": checks, "failures": failures}
    return report, 0 if passed else 1


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

# docs/audit.md §8, the worked example.
EX_DATA0 = '{"path": "/workspace/report.csv", "bytes": 1024, "op": "write"}'
EX_ENTRIES = [
    {
        "kind": "delta", "session": None, "agent": None,
        "time": "2026-11-21T10:00:00.000000Z",
        "canonical_data": '{"bytes":1024,"op":"write","path":"/workspace/report.csv"}',
        "data_hash": "aee63b7a824465f172a042979ba5007a4fa8a992ec675bdbd4cd1b9d21b941d6",
        "envelope": '{"agent":null,"data_hash":"aee63b7a824465f172a042979ba5007a4fa8a992ec675bdbd4cd1b9d21b941d6","kind":"delta","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":0,"session":null,"time":"2026-11-21T10:00:00.000000Z","v":1}',
        "entry_hash": "ffddb7a6b906bc939365e2ad0c71cf7a7a5365788e8326789b1100f77bf3b148",
        "leaf_hash": "1f1e78858297eaebd5554e12a92031e519ca9bea23eace474ac888b90d0818a8",
    },
    {
        "kind": "decision", "session": "s1", "agent": "a1",
        "time": "2026-11-21T10:00:00.250000Z",
        "canonical_data": '{"decision":{"allowed":true,"code":"allow","rule":"read-workspace"},"note":"café","request":{"action":"fs.read","resource":"/workspace/report.csv"}}',
        "data_hash": "423b35412900a8128566dc7e323c28788075ea9eb8645970bf45d7be83538821",
        "envelope": '{"agent":"a1","data_hash":"423b35412900a8128566dc7e323c28788075ea9eb8645970bf45d7be83538821","kind":"decision","prev":"ffddb7a6b906bc939365e2ad0c71cf7a7a5365788e8326789b1100f77bf3b148","seq":1,"session":"s1","time":"2026-11-21T10:00:00.250000Z","v":1}',
        "entry_hash": "15aac55c08a1d876bab8c813bba025bea7be788c85a78b698da5a20074456e01",
        "leaf_hash": "208579aa1bd941110b0d69023ee80b9cdeaaead3195fbad52373ad8cae0cd6f8",
    },
    {
        "kind": "decision", "session": "s1", "agent": "a1",
        "time": "2026-11-21T10:00:01.000000Z",
        "canonical_data": '{"decision":{"allowed":false,"code":"default","rule":null},"request":{"action":"net.fetch","resource":"https://example.com/"}}',
        "data_hash": "9f5e57fa67f04e4f6763dc1820190b25fe72eacf710febd810d671b5949022cc",
        "envelope": '{"agent":"a1","data_hash":"9f5e57fa67f04e4f6763dc1820190b25fe72eacf710febd810d671b5949022cc","kind":"decision","prev":"15aac55c08a1d876bab8c813bba025bea7be788c85a78b698da5a20074456e01","seq":2,"session":"s1","time":"2026-11-21T10:00:01.000000Z","v":1}',
        "entry_hash": "7b153650503b6d62788931cfae7ec4a3bb662c8d748a471fa1264e5cfc5d06ff",
        "leaf_hash": "0cdd66835e531e15c8e47313347283f19f72bfadcebc18006757cfb0bc96b406",
    },
]
EX_NODE_1_0 = "e5799e759148f21a1efe9b5484a2e22317e622f6e5e3ca8e29d54c1938bb3af2"
EX_ROOT_3 = "90be1cb6031ab4c5d12b89973acc5a581bb768405cc7d68ee58efb890b7c81c3"
EX_ROOT_3_B64 = "kL4ctgMatMXRK4mXOsxaWBu3aEBcx9aO5Y77iQt8gcM="
EX_INCLUSION_0_3 = ("208579aa", "cae0cd6f8", "0cdd6683", "bc96b406")  # as abbreviated
EX_SEED = bytes(range(32))
EX_KEY_NAME = "ringfence.example/audit"
EX_SIGNING_KEY = "PRIVATE+KEY+ringfence.example/audit+78c8eb64+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
EX_PUBLIC_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
EX_VERIFIER_KEY = "ringfence.example/audit+78c8eb64+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
EX_CHECKPOINT = (
    "ringfence.example/audit\n"
    "3\n"
    "kL4ctgMatMXRK4mXOsxaWBu3aEBcx9aO5Y77iQt8gcM=\n"
    "\n"
    "\u2014 ringfence.example/audit eMjrZBafBr0Z5Y0zuqKyB2+bTJyUJiVsur/GO9klQ+l80aIrq8ma7MvwJDAQbu9bzD4BO0rGvtzYOTxPQE7GL0zDTAs=\n"
)
EX_EMPTY_ROOT_ABBREV = ("e3b0c442", "7852b855")

# RFC 6962's reference tree, as used by the transparency-dev/merkle and
# certificate-transparency test suites: leaf data, roots for sizes 0..8,
# inclusion proofs (leaf index, size) and consistency proofs (m, n).
RFC6962_LEAF_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                     "606162636465666768696a6b6c6d6e6f"]
RFC6962_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC6962_INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
RFC6962_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]

# RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
RFC8785_NUMBERS = [
    ("0000000000000000", "0"), ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"), ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]
RFC8785_NON_FINITE = ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"]
# RFC 8785 §3.2.2 and §3.2.3.
RFC8785_EXAMPLE_IN = (
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
    ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
    ' "literals": [null, true, false]}'
)
RFC8785_EXAMPLE_OUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)
RFC8785_SORT_NAMES = ["\u20ac", "\r", "\ufb33", "1", "\U0001F600", "\u0080", "\u00f6"]
RFC8785_SORTED = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]

# golang.org/x/mod/sumdb/note's example key and note, and sum.golang.org's
# verifier key as quoted in docs/audit.md §9.
GO_SIGNING_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_SIGNATURE = ("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
                "gKvqfqdngotpRZb6KE6RyyBwJnAM=")
SUMDB_VERIFIER_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"


class SelfTest:
    def __init__(self):
        self.mismatches = []
        self.count = 0

    def eq(self, what, got, want):
        self.count += 1
        if got != want:
            self.mismatches.append("%s: got %r, expected %r" % (what, got, want))

    def true(self, what, cond):
        self.count += 1
        if not cond:
            self.mismatches.append(what)


def _double(bits_hex: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits_hex))[0]


def _public_from_seed(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def self_test_jcs(t: SelfTest):
    t.eq("float repr style", sys.float_repr_style, "short")
    for bits, want in RFC8785_NUMBERS:
        t.eq("RFC 8785 number %s" % bits, jcs(_double(bits)).decode(), want)
    for bits in RFC8785_NON_FINITE:
        try:
            jcs(_double(bits))
            t.true("RFC 8785 number %s must be refused" % bits, False)
        except JCSError:
            t.true("", True)
    # docs/audit.md §1's examples
    for value, want in [(1e20, "100000000000000000000"), (9007199254740992, "9007199254740992"),
                        (-0.0, "0"), (1e-6, "0.000001"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
                        (1e-7, "1e-7"), (5e-324, "5e-324"), (1e16, "10000000000000000"),
                        (1.0, "1"), (-1.5, "-1.5"), (0.1, "0.1"), (123456789012345680000, "123456789012345680000"),
                        (2**60, "1152921504606847000"), (12345678901234567890, "12345678901234567000")]:
        t.eq("number %r" % value, jcs_number(value), want)
    t.eq("RFC 8785 §3.2.2 example", jcs(parse_json(RFC8785_EXAMPLE_IN)).decode(),
         RFC8785_EXAMPLE_OUT)
    t.eq("RFC 8785 §3.2.3 sorting",
         list(parse_json(jcs({name: None for name in RFC8785_SORT_NAMES}).decode())),
         RFC8785_SORTED)
    t.true("U+1F600 sorts before U+FB33",
           jcs({"\ufb33": 1, "\U0001F600": 2}) == '{"\U0001F600":2,"\ufb33":1}'.encode())
    t.eq("string escapes", jcs("\"\\\b\t\n\f\r\x00\x01\x1f/\x7f\u2028\u00e9"),
         '"\\"\\\\\\b\\t\\n\\f\\r\\u0000\\u0001\\u001f/\x7f\u2028\u00e9"'.encode("utf-8"))
    t.eq("literals and nesting", jcs({"b": [True, False, None, {}, []], "a": ""}),
         b'{"a":"","b":[true,false,null,{},[]]}')
    t.eq("no normalisation", jcs("e\u0301"), '"e\u0301"'.encode("utf-8"))
    try:
        jcs("\ud800")
        t.true("a lone surrogate must be refused", False)
    except JCSError:
        t.true("", True)
    for bad in ['{"a":1,"a":2}', '[NaN]', '[Infinity]']:
        try:
            parse_json(bad)
            t.true("%s must be refused" % bad, False)
        except ValueError:
            t.true("", True)


def self_test_merkle(t: SelfTest):
    leaves = [leaf_hash_of_data(bytes.fromhex(d)) for d in RFC6962_LEAF_DATA]
    for size, want in enumerate(RFC6962_ROOTS):
        t.eq("RFC 6962 root of size %d" % size, mth(leaves, 0, size).hex(), want)
    for index, size, want in RFC6962_INCLUSION:
        got = [h.hex() for h in inclusion_path(index, leaves, 0, size)]
        t.eq("RFC 6962 inclusion proof (%d, %d)" % (index, size), got, want)
        t.true("RFC 6962 inclusion proof (%d, %d) verifies" % (index, size),
               verify_inclusion(leaves[index], index, size, [bytes.fromhex(h) for h in want],
                                bytes.fromhex(RFC6962_ROOTS[size])))
    for m, n, want in RFC6962_CONSISTENCY:
        got = [h.hex() for h in consistency_proof(m, n, leaves)]
        t.eq("RFC 6962 consistency proof (%d, %d)" % (m, n), got, want)
        t.true("RFC 6962 consistency proof (%d, %d) verifies" % (m, n),
               verify_consistency(m, n, bytes.fromhex(RFC6962_ROOTS[m]),
                                  bytes.fromhex(RFC6962_ROOTS[n]),
                                  [bytes.fromhex(h) for h in want]))

    # Every proof in every small tree verifies, and every mangling of it fails.
    many = [sha256(b"leaf %d" % i) for i in range(40)]
    roots = [mth(many, 0, s) for s in range(len(many) + 1)]
    bad = 0
    for n in range(1, len(many) + 1):
        for i in range(n):
            proof = inclusion_path(i, many, 0, n)
            if not verify_inclusion(many[i], i, n, proof, roots[n]):
                bad += 1
            if verify_inclusion(many[i], i, n, proof, roots[n - 1]) and n > 1:
                bad += 1
            if n < len(many) and verify_inclusion(many[i], i, n + 1, proof, roots[n + 1]):
                bad += 1
            if proof:
                flipped = list(proof)
                flipped[-1] = bytes([flipped[-1][0] ^ 1]) + flipped[-1][1:]
                if verify_inclusion(many[i], i, n, flipped, roots[n]):
                    bad += 1
                if verify_inclusion(many[i], i, n, proof[:-1], roots[n]):
                    bad += 1
            if verify_inclusion(many[i], i, n, proof + [bytes(32)], roots[n]):
                bad += 1
            if n > 1 and verify_inclusion(many[i], (i + 1) % n, n, proof, roots[n]):
                bad += 1
        for m in range(0, n + 1):
            proof = consistency_proof(m, n, many)
            if not verify_consistency(m, n, roots[m], roots[n], proof):
                bad += 1
            if 0 < m < n:
                if verify_consistency(m, n, roots[m - 1], roots[n], proof):
                    bad += 1
                if verify_consistency(m, n, roots[m], roots[n - 1], proof):
                    bad += 1
                flipped = list(proof)
                flipped[0] = bytes([flipped[0][0] ^ 0x80]) + flipped[0][1:]
                if verify_consistency(m, n, roots[m], roots[n], flipped):
                    bad += 1
                if verify_consistency(m, n, roots[m], roots[n], proof[:-1]):
                    bad += 1
                if verify_consistency(m, n, roots[m], roots[n], proof + [bytes(32)]):
                    bad += 1
        if verify_consistency(n, n - 1, roots[n], roots[n - 1], []):
            bad += 1
    t.eq("proofs in trees of 1..40 leaves (wrongly accepted or refused)", bad, 0)
    t.true("consistency m = 0 needs the empty root",
           not verify_consistency(0, 3, roots[1], roots[3], []))

    # docs/audit.md §3.1: the perfect-subtree store and roots from it.
    store = {}
    for i, h in enumerate(many):
        store[(0, i)] = h
        level = 1
        while (i >> (level - 1)) & 1:
            store[(level, i >> level)] = node_hash(store[(level - 1, (i >> level) * 2)],
                                                   store[(level - 1, (i >> level) * 2 + 1)])
            level += 1
    for size in range(len(many) + 1):
        parts, start = [], 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                parts.append(store[(level, start >> level)])
                start += 1 << level
        folded = sha256(b"")
        if parts:
            folded = parts[-1]
            for part in reversed(parts[:-1]):
                folded = node_hash(part, folded)
        if folded != roots[size]:
            t.true("§3.1 root of size %d from perfect subtrees" % size, False)
    for level, index in store:
        width = 1 << level
        if store[(level, index)] != mth(many, index * width, (index + 1) * width):
            t.true("§3.1 node (%d, %d)" % (level, index), False)
    t.eq("§3.1 size 6 = node((2,0), (1,2))",
         node_hash(store[(2, 0)], store[(1, 2)]), roots[6])
    t.eq("§3.1 size 7 = node((2,0), node((1,2), (0,6)))",
         node_hash(store[(2, 0)], node_hash(store[(1, 2)], store[(0, 6)])), roots[7])


def leaf_hash_of_data(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def self_test_keys(t: SelfTest):
    # Go's example key pair and note
    go_seed = b64decode_canonical(GO_SIGNING_KEY.split("+", 4)[4])[1:]
    go_key = VerifierKey.parse(GO_VERIFIER_KEY)
    t.eq("Go key: public key from the seed", _public_from_seed(go_seed), go_key.public_key)
    go_note = sign_note(GO_TEXT.encode(), "PeterNeumann", go_seed)
    t.eq("Go note signed", go_note.decode("utf-8"),
         GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIGNATURE + "\n")
    t.eq("Go note verifies", note_status(parse_note(go_note), go_key), "verified")
    t.eq("Go note, text changed",
         note_status(parse_note(go_note.replace(b"cryptography", b"cryptographY")), go_key),
         "bad signature")
    t.eq("sum.golang.org key ID", "%08x" % VerifierKey.parse(SUMDB_VERIFIER_KEY).key_id,
         "033de0ae")
    t.eq("key text round trip", VerifierKey.parse(SUMDB_VERIFIER_KEY).text(), SUMDB_VERIFIER_KEY)
    t.eq("key ID in upper case", VerifierKey.parse(EX_VERIFIER_KEY.replace("78c8eb64", "78C8EB64")
                                                   ).key_id, 0x78C8EB64)
    for bad in [EX_VERIFIER_KEY.replace("78c8eb64", "78c8eb65"),  # wrong key ID
                EX_VERIFIER_KEY.replace("+AQ", "+Ag"),  # wrong type (and ID)
                EX_VERIFIER_KEY[:-1] + "5",  # non-canonical base64
                "ringfence example+78c8eb64+" + EX_VERIFIER_KEY.split("+", 2)[2],
                EX_VERIFIER_KEY.replace("+", "-", 1),
                EX_VERIFIER_KEY[:-4]]:
        try:
            VerifierKey.parse(bad)
            t.true("key %r must be refused" % bad, False)
        except Malformed:
            t.true("", True)
    # note parsing edge cases
    for bad in [b"a\n\nb\n", b"a\n\n", b"a", b"a\r\n\n\xe2\x80\x94 x AAAAAAA=\n",
                b"a\n\n\xe2\x80\x94 x AAAA\n", b"a\n\n\xe2\x80\x94 x a b\n", b"\xff\n"]:
        try:
            parse_note(bad)
            t.true("note %r must be refused" % bad, False)
        except Malformed:
            t.true("", True)
    t.eq("unsigned note", note_status(parse_note(b"a\nb\n"), go_key), "unsigned")
    t.eq("note signed by another key", note_status(parse_note(go_note), VerifierKey.parse(
        EX_VERIFIER_KEY)), "signed by an unknown key")


def _example_log_lines():
    """The worked example as `audit log --format json` lines."""
    data = [parse_json(EX_DATA0)] + [parse_json(e["canonical_data"]) for e in EX_ENTRIES[1:]]
    lines, prev = [], ZERO_HASH_HEX
    for seq, (e, d) in enumerate(zip(EX_ENTRIES, data)):
        obj = {"v": 1, "seq": seq, "time": e["time"], "kind": e["kind"],
               "session": e["session"], "agent": e["agent"],
               "data_hash": sha256(jcs(d)).hex(), "prev": prev}
        obj["hash"] = envelope_hash(obj).hex()
        obj["data"] = d
        prev = obj["hash"]
        lines.append(obj)
    return lines


def self_test_example(t: SelfTest):
    # Entries
    prev = ZERO_HASH_HEX
    data_values = [parse_json(EX_DATA0)]
    # entry 1's data with its members out of order, so sorting is exercised
    data_values.append({"request": {"resource": "/workspace/report.csv", "action": "fs.read"},
                        "note": "caf\u00e9",
                        "decision": {"rule": "read-workspace", "code": "allow", "allowed": True}})
    data_values.append(parse_json(EX_ENTRIES[2]["canonical_data"]))
    leaves = []
    for seq, (e, data) in enumerate(zip(EX_ENTRIES, data_values)):
        canonical = jcs(data)
        t.eq("entry %d canonical data" % seq, canonical.decode("utf-8"), e["canonical_data"])
        t.eq("entry %d canonical data is a fixed point" % seq,
             jcs(parse_json(e["canonical_data"])).decode("utf-8"), e["canonical_data"])
        data_hash = sha256(canonical).hex()
        t.eq("entry %d data_hash" % seq, data_hash, e["data_hash"])
        envelope = {"v": 1, "seq": seq, "time": e["time"], "kind": e["kind"],
                    "session": e["session"], "agent": e["agent"],
                    "data_hash": data_hash, "prev": prev}
        t.true("entry %d envelope shape" % seq, not envelope_problems(envelope, ENVELOPE_MEMBERS))
        canonical_envelope = jcs(envelope)
        t.eq("entry %d envelope" % seq, canonical_envelope.decode("utf-8"), e["envelope"])
        entry_hash = sha256(canonical_envelope)
        t.eq("entry %d entry hash" % seq, entry_hash.hex(), e["entry_hash"])
        t.eq("entry %d leaf hash" % seq, leaf_hash(entry_hash).hex(), e["leaf_hash"])
        leaves.append(leaf_hash(entry_hash))
        prev = entry_hash.hex()
    t.true("entry 1's canonical data holds the raw UTF-8 of é",
           b"caf\xc3\xa9" in EX_ENTRIES[1]["canonical_data"].encode("utf-8"))

    # The tree
    empty = mth([]).hex()
    t.true("MTH({}) = e3b0c442…7852b855",
           empty.startswith(EX_EMPTY_ROOT_ABBREV[0]) and empty.endswith(EX_EMPTY_ROOT_ABBREV[1]))
    t.eq("node (1,0)", node_hash(leaves[0], leaves[1]).hex(), EX_NODE_1_0)
    t.eq("root of size 2", mth(leaves, 0, 2).hex(), EX_NODE_1_0)
    root3 = mth(leaves)
    t.eq("root of size 3", root3.hex(), EX_ROOT_3)
    t.eq("root of size 3 = node(node (1,0), leaf 2)",
         node_hash(bytes.fromhex(EX_NODE_1_0), leaves[2]).hex(), EX_ROOT_3)
    t.eq("root of size 3 in base64", b64encode(root3), EX_ROOT_3_B64)
    path = inclusion_path(0, leaves, 0, 3)
    t.eq("inclusion proof of entry 0 in size 3", [h.hex() for h in path],
         [EX_ENTRIES[1]["leaf_hash"], EX_ENTRIES[2]["leaf_hash"]])
    a, b, c, d = EX_INCLUSION_0_3
    t.true("inclusion proof as abbreviated in the docs",
           len(path) == 2 and path[0].hex().startswith(a) and path[0].hex().endswith(b)
           and path[1].hex().startswith(c) and path[1].hex().endswith(d))
    for i in range(3):
        t.true("inclusion proof of entry %d in size 3 verifies" % i,
               verify_inclusion(leaves[i], i, 3, inclusion_path(i, leaves, 0, 3), root3))
    cons = consistency_proof(2, 3, leaves)
    t.eq("consistency proof from size 2 to 3", [h.hex() for h in cons],
         [EX_ENTRIES[2]["leaf_hash"]])
    t.true("consistency proof from size 2 to 3 verifies",
           verify_consistency(2, 3, bytes.fromhex(EX_NODE_1_0), bytes.fromhex(EX_ROOT_3), cons))

    # Keys
    public = _public_from_seed(EX_SEED)
    t.eq("public key", public.hex(), EX_PUBLIC_KEY)
    typed = bytes([ALG_ED25519]) + public
    kid = key_id(EX_KEY_NAME, typed)
    t.eq("signing key", "PRIVATE+KEY+%s+%08x+%s" % (
        EX_KEY_NAME, kid, b64encode(bytes([ALG_ED25519]) + EX_SEED)), EX_SIGNING_KEY)
    t.eq("verifier key", "%s+%08x+%s" % (EX_KEY_NAME, kid, b64encode(typed)), EX_VERIFIER_KEY)
    key = VerifierKey.parse(EX_VERIFIER_KEY)
    t.eq("verifier key parsed", (key.name, key.key_id, key.public_key.hex()),
         (EX_KEY_NAME, kid, EX_PUBLIC_KEY))
    signing_parts = EX_SIGNING_KEY.split("+", 4)
    t.eq("signing key's seed", b64decode_canonical(signing_parts[4]),
         bytes([ALG_ED25519]) + EX_SEED)

    # The signed checkpoint
    text = ("%s\n%d\n%s\n" % (EX_KEY_NAME, 3, b64encode(root3))).encode()
    t.eq("signed checkpoint", sign_note(text, EX_KEY_NAME, EX_SEED).decode("utf-8"),
         EX_CHECKPOINT)
    note = parse_note(EX_CHECKPOINT.encode("utf-8"))
    t.eq("checkpoint text", note.text, text)
    t.eq("checkpoint signature's key ID", [(n, "%08x" % k, len(s)) for n, k, s in note.signatures],
         [(EX_KEY_NAME, "78c8eb64", 64)])
    t.eq("checkpoint signature verifies", note_status(note, key), "verified")
    t.eq("checkpoint body", parse_checkpoint_text(note.text)[:3], (EX_KEY_NAME, 3, root3))


def self_test_end_to_end(t: SelfTest):
    lines = _example_log_lines()
    leaves = [leaf_hash(bytes.fromhex(obj["hash"])) for obj in lines]
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, content):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
            return path

        def log_text(objs):
            return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)

        def run(what, objs, want_checks, want_status, **files):
            paths = {}
            for name, content in files.items():
                paths[name] = write(name + ".txt", content)
            report, status = verify(write("log.jsonl", log_text(objs)), EX_VERIFIER_KEY,
                                    checkpoint_path=paths.get("checkpoint"),
                                    proof_path=paths.get("proof"),
                                    old_checkpoint_path=paths.get("old"))
            got = {k: report["checks"][k] for k in want_checks}
            t.eq("%s: checks" % what, got, want_checks)
            t.eq("%s: exit status" % what, status, want_status)
            return report

        proof0 = json.dumps({"entry": lines[0], "proof": [leaves[1].hex(), leaves[2].hex()],
                             "checkpoint": EX_CHECKPOINT}, ensure_ascii=False)
        root2 = mth(leaves, 0, 2)
        old2 = sign_note(("%s\n2\n%s\n" % (EX_KEY_NAME, b64encode(root2))).encode(),
                         EX_KEY_NAME, EX_SEED)
        all_true = {"hashes": True, "chain": True, "data": True, "checkpoint": True,
                    "inclusion": True, "consistency": True}
        report = run("intact example", lines, all_true, 0, checkpoint=EX_CHECKPOINT,
                     proof=proof0, old=old2)
        t.eq("intact example: root", report["root"], EX_ROOT_3)
        t.eq("intact example: no failures", report["failures"], [])
        run("intact example, printed with an extra newline", lines, all_true, 0,
            checkpoint=EX_CHECKPOINT + "\n", proof=proof0, old=old2.decode() + "\n")

        purged = [dict(o) for o in lines]
        purged[1]["data"] = None
        run("entry 1's data purged", purged, {"hashes": True, "chain": True, "data": True}, 0,
            checkpoint=EX_CHECKPOINT)

        edited = [dict(o) for o in lines]
        edited[0]["data"] = dict(edited[0]["data"], bytes=1025)
        report = run("entry 0's data edited", edited, {"data": False, "hashes": True}, 1)
        t.eq("entry 0's data edited: message", report["failures"],
             ["entry 0: data does not match its data_hash"])

        edited = [dict(o) for o in lines]
        edited[1]["time"] = "2026-11-21T10:00:00.260000Z"
        edited[1]["hash"] = envelope_hash(edited[1]).hex()
        report = run("entry 1 edited and rehashed", edited,
                     {"hashes": True, "chain": False, "checkpoint": False}, 1,
                     checkpoint=EX_CHECKPOINT)
        t.true("entry 1 edited and rehashed: message",
               "entry 2: prev does not match the hash of entry 1" in report["failures"])

        edited = [dict(o) for o in lines]
        edited[2]["kind"] = "delta"
        run("entry 2 edited, hash kept", edited, {"hashes": False}, 1)

        run("entry 1 removed", [lines[0], lines[2]], {"chain": False}, 1)
        report = run("tail truncated", lines[:2], {"chain": True, "checkpoint": False}, 1,
                     checkpoint=EX_CHECKPOINT)
        t.true("tail truncated: message", any("exceeds the log's 2 entries" in f
                                              for f in report["failures"]))

        flipped = EX_CHECKPOINT.replace("eMjrZBaf", "eMjrZBag")
        run("checkpoint signature flipped", lines, {"checkpoint": False}, 1, checkpoint=flipped)
        run("checkpoint unsigned", lines, {"checkpoint": False}, 1,
            checkpoint=EX_CHECKPOINT.split("\n\n")[0] + "\n")
        other = sign_note(EX_CHECKPOINT.split("\n\n")[0].encode() + b"\n", "other.example",
                          bytes(32))
        run("checkpoint signed by another key", lines, {"checkpoint": False}, 1,
            checkpoint=other)
        wrong_root = sign_note(("%s\n3\n%s\n" % (EX_KEY_NAME, b64encode(root2))).encode(),
                               EX_KEY_NAME, EX_SEED)
        run("checkpoint with a wrong root", lines, {"checkpoint": False}, 1,
            checkpoint=wrong_root)

        bad_proof = json.dumps({"entry": lines[0], "proof": [leaves[2].hex(), leaves[1].hex()],
                                "checkpoint": EX_CHECKPOINT}, ensure_ascii=False)
        run("inclusion proof swapped", lines, {"inclusion": False}, 1, proof=bad_proof)
        bad_entry = dict(lines[0], kind="decision")
        bad_proof = json.dumps({"entry": bad_entry, "proof": [leaves[1].hex(), leaves[2].hex()],
                                "checkpoint": EX_CHECKPOINT}, ensure_ascii=False)
        run("proof entry edited", lines, {"inclusion": False}, 1, proof=bad_proof)
        bad_proof = json.dumps({"entry": lines[0], "proof": [leaves[1].hex(), leaves[2].hex()],
                                "checkpoint": flipped}, ensure_ascii=False)
        run("proof checkpoint signature flipped", lines, {"inclusion": False}, 1,
            proof=bad_proof)

        forged = sign_note(("%s\n2\n%s\n" % (EX_KEY_NAME, b64encode(leaves[0]))).encode(),
                           EX_KEY_NAME, EX_SEED)
        run("old checkpoint of another history", lines, {"consistency": False}, 1, old=forged)
        old4 = sign_note(("%s\n4\n%s\n" % (EX_KEY_NAME, EX_ROOT_3_B64)).encode(),
                         EX_KEY_NAME, EX_SEED)
        run("old checkpoint larger than the log", lines, {"consistency": False}, 1, old=old4)
        old0 = sign_note(("%s\n0\n%s\n" % (EX_KEY_NAME, b64encode(sha256(b"")))).encode(),
                         EX_KEY_NAME, EX_SEED)
        run("old checkpoint of the empty log", lines, {"consistency": True}, 0, old=old0)

        try:
            verify(write("bad.jsonl", "{not json\n"), EX_VERIFIER_KEY)
            t.true("a log line that is not JSON must be unreadable", False)
        except Unreadable:
            t.true("", True)
        try:
            verify(write("ok.jsonl", log_text(lines)), EX_VERIFIER_KEY[:-2],
                   checkpoint_path=write("cp.txt", EX_CHECKPOINT))
            t.true("a broken verifier key must be unreadable", False)
        except Unreadable:
            t.true("", True)


def self_test() -> int:
    t = SelfTest()
    for part in (self_test_jcs, self_test_merkle, self_test_keys, self_test_example,
                 self_test_end_to_end):
        try:
            part(t)
        except Exception as e:  # a crash is a mismatch too
            t.mismatches.append("%s raised %s: %s" % (part.__name__, type(e).__name__, e))
    if t.mismatches:
        for m in t.mismatches:
            print("MISMATCH " + m)
        print("self-test failed: %d of %d checks" % (len(t.mismatches), t.count))
        return 1
    print("self-test passed (%d checks)" % t.count)
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a Ringfence audit log, its checkpoints and proofs.")
    parser.add_argument("--log", help="`ringfence audit log --format json` output")
    parser.add_argument("--proof", help="`ringfence audit prove SEQ` output")
    parser.add_argument("--checkpoint", help="`ringfence audit checkpoint` output")
    parser.add_argument("--old-checkpoint", help="a checkpoint of an earlier size")
    parser.add_argument("--key", help="the verifier key text")
    parser.add_argument("--self-test", action="store_true",
                        help="check the worked example and reference vectors")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.log:
        parser.print_usage(sys.stderr)
        print("error: --log is required", file=sys.stderr)
        return 2
    try:
        report, status = verify(args.log, args.key, args.checkpoint, args.proof,
                                args.old_checkpoint)
    except Unreadable as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
