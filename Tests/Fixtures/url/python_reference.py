#!/usr/bin/env python3
"""The RFC 3986 reference of the URL differential tests (URLDifferentialTests.swift).

Reads resources, one JSON string a line, from the file named on the command line, and prints one
JSON object a line: how Python's urllib.parse.urlsplit reads each, normalised the way Ringfence
normalises a URL (SPEC 3.1), written independently of Ringfence's code:
  {"ok": true, "scheme": ..., "host": ..., "port": null or a number, "path": ...}
  {"ok": false, "why": ...}     (urlsplit refused it, or it has userinfo)
Normalising: scheme and host lower-cased; `file:` with host `localhost` has the empty host; one
trailing dot of the host dropped; an IPv6 host written as WHATWG writes it; the scheme's default
port dropped; in the path, escapes of unreserved characters decoded and others upper-cased, dot
segments removed (RFC 3986 section 5.2.4), repeated `/` collapsed, a trailing `/` dropped, and an
empty path made `/`.
"""
import ipaddress
import json
import re
import sys
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX = set("0123456789abcdefABCDEF")


def decode_unreserved(path):
    """Decodes escapes of unreserved characters and upper-cases the hex of the others."""
    out = []
    i = 0
    while i < len(path):
        if path[i] == "%" and i + 2 < len(path) and path[i + 1] in HEX and path[i + 2] in HEX:
            char = chr(int(path[i + 1 : i + 3], 16))
            out.append(char if char in UNRESERVED else "%" + path[i + 1 : i + 3].upper())
            i += 3
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def remove_dot_segments(path):
    """RFC 3986 section 5.2.4, step by step."""
    output = ""
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./"):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:] if path.startswith("/../") else "/"
            output = output[: output.rfind("/")] if "/" in output else ""
        elif path in (".", ".."):
            path = ""
        else:
            end = path.find("/", 1 if path.startswith("/") else 0)
            end = len(path) if end == -1 else end
            output += path[:end]
            path = path[end:]
    return output


def normalize_path(path):
    """The path normalised as Ringfence does."""
    path = re.sub("/+", "/", remove_dot_segments(decode_unreserved(path)))
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path or "/"


def ipv6_text(address):
    """`[…]` the way WHATWG writes an IPv6 address: lower-case hex, the first longest run of two
    or more zero groups as `::` (computed here from the packed bytes, not by `ipaddress`'s own
    text, which writes IPv4-mapped addresses in dotted form on some Python versions)."""
    packed = ipaddress.IPv6Address(address).packed
    groups = [packed[k] << 8 | packed[k + 1] for k in range(0, 16, 2)]
    best_start, best_length, k = -1, 0, 0
    while k < 8:
        if groups[k] == 0:
            j = k
            while j < 8 and groups[j] == 0:
                j += 1
            if j - k > best_length and j - k >= 2:
                best_start, best_length = k, j - k
            k = j
        else:
            k += 1
    if best_start < 0:
        return "[" + ":".join("%x" % g for g in groups) + "]"
    head = ":".join("%x" % g for g in groups[:best_start])
    tail = ":".join("%x" % g for g in groups[best_start + best_length :])
    return "[" + head + "::" + tail + "]"


def reading(resource):
    """One resource's reading as a dictionary."""
    try:
        parts = urlsplit(resource)
        port = parts.port
        hostname = parts.hostname
    except ValueError as error:
        return {"ok": False, "why": str(error)}
    if "@" in parts.netloc:
        return {"ok": False, "why": "userinfo"}
    scheme = parts.scheme.lower()
    host = hostname or ""
    if "[" in parts.netloc:
        if "%" in host:
            host = "[" + host + "]"
        else:
            try:
                host = ipv6_text(host)
            except ValueError as error:
                return {"ok": False, "why": str(error)}
    if scheme == "file" and host == "localhost":
        host = ""
    if host.endswith("."):
        host = host[:-1]
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        port = None
    return {"ok": True, "scheme": scheme, "host": host, "port": port, "path": normalize_path(parts.path)}


def main():
    with open(sys.argv[1], encoding="utf-8") as source:
        lines = source.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = [json.dumps(reading(json.loads(line)), ensure_ascii=True) for line in lines]
    sys.stdout.write("".join(line + "\n" for line in out))


main()
