"""Typed results of the Ringfence decision server (SPEC §1, §13, §14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


class RingfenceError(Exception):
    """An error the server answered, or a transport failure, with a stable ``code``.

    ``code`` is one of the codes of docs/runtime.md (``session_not_found``, ``invalid_request``,
    ...) or of docs/server.md (``unauthorized``, ``body_too_large``, ...); a server that cannot
    be reached gives ``unavailable``. ``status`` is the HTTP status (``None`` when no answer came).
    """

    def __init__(self, code: str, message: str, status: Optional[int] = None, details: Optional[dict] = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class RingfenceUnavailable(RingfenceError):
    """The server could not be reached or did not answer in time (code ``unavailable``)."""

    def __init__(self, message: str):
        super().__init__("unavailable", message, None)


@dataclass(frozen=True)
class Decision:
    """A decision (SPEC §1): ``allowed`` is True only for ``decision == "allow"``."""

    decision: str
    code: str
    policy: Optional[str]
    rule: Optional[str]
    reason: str
    ring: int
    retry_after: Optional[float] = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @classmethod
    def from_json(cls, data: dict) -> "Decision":
        try:
            return cls(decision=str(data["decision"]), code=str(data["code"]), policy=data.get("policy"),
                       rule=data.get("rule"), reason=str(data.get("reason", "")), ring=int(data.get("ring", 3)),
                       retry_after=data.get("retry_after"))
        except (KeyError, TypeError, ValueError) as error:
            raise RingfenceError("invalid_answer", f"the server's answer is not a decision: {data!r}") from error

    @classmethod
    def denied(cls, code: str, reason: str) -> "Decision":
        """A denial made on the client's side (a guard that could not ask the server)."""
        return cls(decision="deny", code=code, policy=None, rule=None, reason=reason, ring=3)


@dataclass(frozen=True)
class Evaluation:
    """An AuthZEN evaluation: ``decision`` and the context the server adds (code, policy, rule, reason, ring)."""

    decision: bool
    context: dict = field(default_factory=dict)

    @property
    def code(self) -> Optional[str]:
        return self.context.get("code")

    @property
    def reason(self) -> Optional[str]:
        return self.context.get("reason")

    @classmethod
    def from_json(cls, data: Any) -> "Evaluation":
        if not isinstance(data, dict) or not isinstance(data.get("decision"), bool):
            raise RingfenceError("invalid_answer", f"the server's answer is not an evaluation: {data!r}")
        return cls(decision=data["decision"], context=dict(data.get("context") or {}))


@dataclass(frozen=True)
class OpResult:
    """One result line of ``/v1/batch`` (as ``ringfence ops`` prints it)."""

    op: Optional[str]
    ok: bool
    result: Any = None
    error: Optional[dict] = None

    def unwrap(self) -> Any:
        """The result, or the error raised as ``RingfenceError``."""
        if self.ok:
            return self.result
        error = self.error or {}
        raise RingfenceError(str(error.get("code", "error")), str(error.get("message", "")))

    @classmethod
    def from_json(cls, data: dict) -> "OpResult":
        return cls(op=data.get("op"), ok=bool(data.get("ok")), result=data.get("result"), error=data.get("error"))
