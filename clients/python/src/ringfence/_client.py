"""Synchronous and asynchronous clients of ``ringfence serve`` (SPEC §14.2)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

import httpx

from ._types import Decision, Evaluation, OpResult, RingfenceError, RingfenceUnavailable

# Every operation of SPEC §13 as a method name and its `op`; the methods take the operation's
# fields as keyword arguments (and `at`) and return its result as a dict. Operations the
# server does not run (yet) answer `unknown_op`.
OPERATIONS = {
    "session_create": "session.create",
    "session_join": "session.join",
    "session_activate": "session.activate",
    "session_terminate": "session.terminate",
    "session_get": "session.get",
    "elevate": "elevate",
    "elevation_revoke": "elevation.revoke",
    "kill": "kill",
    "breaker_reset": "breaker.reset",
    "audit_append": "audit.append",
    "audit_checkpoint": "audit.checkpoint",
    "saga_start": "saga.start",
    "saga_get": "saga.get",
    "saga_resume": "saga.resume",
    "ledger_vouch": "ledger.vouch",
    "ledger_release": "ledger.release",
    "ledger_slash": "ledger.slash",
    "ledger_quarantine": "ledger.quarantine",
    "ledger_unquarantine": "ledger.unquarantine",
    "ledger_trust": "ledger.trust",
    "ledger_get": "ledger.get",
    "ledger_attribute": "ledger.attribute",
}

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")


def _request(agent: Mapping[str, Any], action: str, resource: Optional[str], params: Optional[Mapping[str, Any]],
             context: Optional[Mapping[str, Any]]) -> dict:
    if not isinstance(agent, Mapping) or "id" not in agent:
        raise ValueError("agent must be a dict with at least an `id`")
    request: dict = {"agent": dict(agent), "action": action}
    if resource is not None:
        request["resource"] = resource
    if params is not None:
        request["params"] = dict(params)
    if context is not None:
        request["context"] = dict(context)
    return request


def _decide_body(request: dict, session: Optional[str]) -> dict:
    body: dict = {"request": request}
    if session is not None:
        body["session"] = session
    return body


def _evaluations_body(evaluations: Iterable[Mapping[str, Any]], semantic: str, defaults: Mapping[str, Any]) -> dict:
    if semantic not in SEMANTICS:
        raise ValueError(f"semantic must be one of {', '.join(SEMANTICS)}")
    body = {key: value for key, value in defaults.items() if value is not None}
    body["evaluations"] = [dict(item) for item in evaluations]
    body["options"] = {"evaluations_semantic": semantic}
    return body


def _answer(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer, or the server's error raised as ``RingfenceError``."""
    try:
        data = response.json()
    except (json.JSONDecodeError, ValueError):
        data = None
    if response.is_success:
        if data is None and response.headers.get("content-type", "").startswith("application/json"):
            raise RingfenceError("invalid_answer", "the server's answer is not json", response.status_code)
        return data if data is not None else response.text
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and "code" in error:
        details = {key: value for key, value in error.items() if key not in ("code", "message")}
        raise RingfenceError(str(error["code"]), str(error.get("message", "")), response.status_code, details)
    raise RingfenceError("http_error", f"http {response.status_code}: {response.text[:200]}", response.status_code)


def _headers(token: Optional[str]) -> dict:
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


class _Operations:
    """Adds one method per operation of SPEC §13 (``session_create``, ``ledger_slash``, ...)."""

    def op(self, name: str, **fields: Any) -> Any:  # replaced by the subclasses
        raise NotImplementedError


def _operation_method(op_name: str):
    def method(self, **fields: Any) -> Any:
        return self.op(op_name, **fields)

    method.__doc__ = f"Runs `{op_name}` (SPEC §13) with its fields as keyword arguments; returns its result."
    return method


for _method_name, _op_name in OPERATIONS.items():
    setattr(_Operations, _method_name, _operation_method(_op_name))


class Client(_Operations):
    """A blocking client: ``Client("http://127.0.0.1:8787", token=None, timeout=2.0)``."""

    def __init__(self, base_url: str = "http://127.0.0.1:8787", token: Optional[str] = None, timeout: float = 2.0,
                 transport: Optional[httpx.BaseTransport] = None):
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=_headers(token), timeout=timeout, transport=transport)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, params: Optional[dict] = None) -> Any:
        try:
            content = None if body is None else json.dumps(body, separators=(",", ":"))
            response = self._http.request(method, path, content=content, params=params)
        except httpx.HTTPError as error:
            raise RingfenceUnavailable(f"{type(error).__name__}: {error}") from error
        return _answer(response)

    def decide(self, agent: Mapping[str, Any], action: str, resource: Optional[str] = None,
               params: Optional[Mapping[str, Any]] = None, context: Optional[Mapping[str, Any]] = None,
               session: Optional[str] = None) -> Decision:
        """Decides one request (SPEC §1), in ``session`` when given."""
        return self.decide_request(_request(agent, action, resource, params, context), session=session)

    def decide_request(self, request: Mapping[str, Any], session: Optional[str] = None) -> Decision:
        """Decides a request given whole, as a dict of SPEC §1."""
        return Decision.from_json(self._call("POST", "/v1/decide", _decide_body(dict(request), session)))

    def op(self, name: str, **fields: Any) -> Any:
        """Runs any operation of SPEC §13; returns its result, raises ``RingfenceError`` when it fails."""
        if "op" in fields:
            raise ValueError("give the operation as `name`, not as a field")
        return self._call("POST", f"/v1/ops/{name}", fields)

    def batch(self, ops: Iterable[Mapping[str, Any]]) -> list[OpResult]:
        """Runs operations (each ``{"op": ..., fields}``) in order; one result each."""
        answer = self._call("POST", "/v1/batch", {"ops": [dict(op) for op in ops]})
        return [OpResult.from_json(line) for line in answer["results"]]

    def evaluate(self, subject: Mapping[str, Any], action: Mapping[str, Any], resource: Optional[Mapping[str, Any]] = None,
                 context: Optional[Mapping[str, Any]] = None) -> Evaluation:
        """One AuthZEN 1.0 evaluation: ``subject`` {type, id, properties}, ``action`` {name, properties}, ``resource`` {type, id}."""
        body = {"subject": dict(subject), "action": dict(action)}
        if resource is not None:
            body["resource"] = dict(resource)
        if context is not None:
            body["context"] = dict(context)
        return Evaluation.from_json(self._call("POST", "/access/v1/evaluation", body))

    def evaluations(self, evaluations: Iterable[Mapping[str, Any]], semantic: str = "execute_all",
                    subject: Optional[Mapping[str, Any]] = None, action: Optional[Mapping[str, Any]] = None,
                    resource: Optional[Mapping[str, Any]] = None, context: Optional[Mapping[str, Any]] = None) -> list[Evaluation]:
        """The AuthZEN batch: each item overrides the defaults; ``semantic`` one of ``SEMANTICS``."""
        body = _evaluations_body(evaluations, semantic, {"subject": subject, "action": action, "resource": resource, "context": context})
        answer = self._call("POST", "/access/v1/evaluations", body)
        if "evaluations" not in answer:
            return [Evaluation.from_json(answer)]
        return [Evaluation.from_json(item) for item in answer["evaluations"]]

    def reload(self) -> dict:
        """Recompiles or reloads the server's policies: ``{bundle_sha256, policies, warnings}``."""
        return self._call("POST", "/v1/reload")

    def health(self) -> bool:
        """True when the server answers its liveness check."""
        return self._call("GET", "/health").get("status") == "ok"

    def ready(self) -> bool:
        """True when the policies are loaded and the store answers."""
        try:
            return self._call("GET", "/health/ready").get("status") == "ready"
        except RingfenceError:
            return False

    def audit_entries(self, start: int = 0, limit: int = 100) -> list[dict]:
        """Audit entries from ``start`` (as ``audit log --format json``)."""
        return self._call("GET", "/v1/audit/entries", params={"from": start, "limit": limit})["entries"]

    def audit_proof(self, seq: int) -> dict:
        """The inclusion proof of entry ``seq`` (as ``audit prove``)."""
        return self._call("GET", f"/v1/audit/proof/{int(seq)}")


class AsyncClient(_Operations):
    """The asyncio client: the same methods as ``Client``, awaited."""

    def __init__(self, base_url: str = "http://127.0.0.1:8787", token: Optional[str] = None, timeout: float = 2.0,
                 transport: Optional[httpx.AsyncBaseTransport] = None):
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=_headers(token), timeout=timeout, transport=transport)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any = None, params: Optional[dict] = None) -> Any:
        try:
            content = None if body is None else json.dumps(body, separators=(",", ":"))
            response = await self._http.request(method, path, content=content, params=params)
        except httpx.HTTPError as error:
            raise RingfenceUnavailable(f"{type(error).__name__}: {error}") from error
        return _answer(response)

    async def decide(self, agent: Mapping[str, Any], action: str, resource: Optional[str] = None,
                     params: Optional[Mapping[str, Any]] = None, context: Optional[Mapping[str, Any]] = None,
                     session: Optional[str] = None) -> Decision:
        """Decides one request (SPEC §1), in ``session`` when given."""
        return await self.decide_request(_request(agent, action, resource, params, context), session=session)

    async def decide_request(self, request: Mapping[str, Any], session: Optional[str] = None) -> Decision:
        """Decides a request given whole, as a dict of SPEC §1."""
        return Decision.from_json(await self._call("POST", "/v1/decide", _decide_body(dict(request), session)))

    async def op(self, name: str, **fields: Any) -> Any:
        """Runs any operation of SPEC §13; returns its result, raises ``RingfenceError`` when it fails."""
        if "op" in fields:
            raise ValueError("give the operation as `name`, not as a field")
        return await self._call("POST", f"/v1/ops/{name}", fields)

    async def batch(self, ops: Iterable[Mapping[str, Any]]) -> list[OpResult]:
        """Runs operations in order; one result each."""
        answer = await self._call("POST", "/v1/batch", {"ops": [dict(op) for op in ops]})
        return [OpResult.from_json(line) for line in answer["results"]]

    async def evaluate(self, subject: Mapping[str, Any], action: Mapping[str, Any],
                       resource: Optional[Mapping[str, Any]] = None, context: Optional[Mapping[str, Any]] = None) -> Evaluation:
        """One AuthZEN 1.0 evaluation."""
        body = {"subject": dict(subject), "action": dict(action)}
        if resource is not None:
            body["resource"] = dict(resource)
        if context is not None:
            body["context"] = dict(context)
        return Evaluation.from_json(await self._call("POST", "/access/v1/evaluation", body))

    async def evaluations(self, evaluations: Iterable[Mapping[str, Any]], semantic: str = "execute_all",
                          subject: Optional[Mapping[str, Any]] = None, action: Optional[Mapping[str, Any]] = None,
                          resource: Optional[Mapping[str, Any]] = None,
                          context: Optional[Mapping[str, Any]] = None) -> list[Evaluation]:
        """The AuthZEN batch."""
        body = _evaluations_body(evaluations, semantic, {"subject": subject, "action": action, "resource": resource, "context": context})
        answer = await self._call("POST", "/access/v1/evaluations", body)
        if "evaluations" not in answer:
            return [Evaluation.from_json(answer)]
        return [Evaluation.from_json(item) for item in answer["evaluations"]]

    async def reload(self) -> dict:
        """Recompiles or reloads the server's policies."""
        return await self._call("POST", "/v1/reload")

    async def health(self) -> bool:
        """True when the server answers its liveness check."""
        return (await self._call("GET", "/health")).get("status") == "ok"

    async def ready(self) -> bool:
        """True when the policies are loaded and the store answers."""
        try:
            return (await self._call("GET", "/health/ready")).get("status") == "ready"
        except RingfenceError:
            return False

    async def audit_entries(self, start: int = 0, limit: int = 100) -> list[dict]:
        """Audit entries from ``start``."""
        return (await self._call("GET", "/v1/audit/entries", params={"from": start, "limit": limit}))["entries"]

    async def audit_proof(self, seq: int) -> dict:
        """The inclusion proof of entry ``seq``."""
        return await self._call("GET", f"/v1/audit/proof/{int(seq)}")
