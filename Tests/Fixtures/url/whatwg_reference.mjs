// The WHATWG reference of the URL differential tests (URLDifferentialTests.swift).
//
// Reads resources, one JSON string a line, from the file named on the command line, and prints
// one JSON object a line: how Node's `new URL()` (the WHATWG URL standard) reads each, normalised
// the way Ringfence normalises a URL (SPEC §3.1), written independently of Ringfence's code:
//   {"ok": true, "scheme": ..., "host": ..., "port": null or a number, "path": ...}
//   {"ok": false, "why": ...}     (the parser refused it, or it has userinfo)
// Normalising: the host lower-cased (WHATWG keeps the case of a non-special scheme's host); `file:`
// with host `localhost` has the empty host (WHATWG already does this); one trailing dot of the
// host dropped; the scheme's default port dropped; in the path, escapes of unreserved characters
// decoded and others upper-cased, dot segments removed (RFC 3986 section 5.2.4), repeated `/`
// collapsed, a trailing `/` dropped, and an empty path made `/`.
import { readFileSync } from "node:fs";

const DEFAULT_PORTS = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Decodes escapes of unreserved characters and upper-cases the hex of the others. */
function decodeUnreserved(path) {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : "%" + hex.toUpperCase();
  });
}

/** RFC 3986 section 5.2.4, step by step. */
function removeDotSegments(path) {
  let output = "";
  while (path.length > 0) {
    if (path.startsWith("../")) path = path.slice(3);
    else if (path.startsWith("./")) path = path.slice(2);
    else if (path.startsWith("/./")) path = path.slice(2);
    else if (path === "/.") path = "/";
    else if (path.startsWith("/../") || path === "/..") {
      path = path === "/.." ? "/" : path.slice(3);
      const cut = output.lastIndexOf("/");
      output = cut < 0 ? "" : output.slice(0, cut);
    } else if (path === "." || path === "..") path = "";
    else {
      let end = path.indexOf("/", path.startsWith("/") ? 1 : 0);
      if (end < 0) end = path.length;
      output += path.slice(0, end);
      path = path.slice(end);
    }
  }
  return output;
}

/** The path normalised as Ringfence does. */
function normalizePath(path) {
  let result = removeDotSegments(decodeUnreserved(path)).replace(/\/+/g, "/");
  if (result.length > 1 && result.endsWith("/")) result = result.slice(0, -1);
  return result === "" ? "/" : result;
}

/** One resource's reading as an object. */
function reading(resource) {
  let url;
  try {
    url = new URL(resource);
  } catch (error) {
    return { ok: false, why: String(error.code ?? error.message) };
  }
  if (url.username !== "" || url.password !== "") return { ok: false, why: "userinfo" };
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  let host = url.hostname.toLowerCase();
  if (scheme === "file" && host === "localhost") host = "";
  if (host.endsWith(".")) host = host.slice(0, -1);
  let port = url.port === "" ? null : Number(url.port);
  if (port !== null && DEFAULT_PORTS[scheme] === port) port = null;
  return { ok: true, scheme, host, port, path: normalizePath(url.pathname) };
}

const lines = readFileSync(process.argv[2], "utf8").split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
process.stdout.write(lines.map((line) => JSON.stringify(reading(JSON.parse(line))) + "\n").join(""));
