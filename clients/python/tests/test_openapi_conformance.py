"""The server checked against its OpenAPI 3.1 document by schemathesis (a bounded number of
examples per operation, a fixed seed). Runs as part of ``make test``; it fails, never skips,
when schemathesis cannot run."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

from conftest import REPO, Server

EXAMPLES = int(os.environ.get("RINGFENCE_SCHEMATHESIS_EXAMPLES", "30"))


def test_server_conforms_to_its_openapi_document(policies, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("schemathesis-token\n")
    running = Server(["-p", str(policies), "--state", f"sqlite:{tmp_path / 'state.db'}", "--token-file", str(tokens)])
    schemathesis = pathlib.Path(sys.executable).parent / "schemathesis"
    assert schemathesis.exists(), f"schemathesis is not installed in {schemathesis.parent} (make test-python installs it)"
    started = time.monotonic()
    try:
        result = subprocess.run(
            [str(schemathesis), "run", str(REPO / "openapi" / "ringfence.json"), "--url", running.url,
             "-H", "Authorization: Bearer schemathesis-token", "--max-examples", str(EXAMPLES), "--seed", "20261121",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                         "response_headers_conformance,ignored_auth",
             "--request-timeout", "10", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    finally:
        status = running.stop()
    print(f"schemathesis: {time.monotonic() - started:.1f} s, {EXAMPLES} examples per operation")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert status == 0
