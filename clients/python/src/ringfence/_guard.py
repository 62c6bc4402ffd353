"""The check every framework guard makes: a tool call mapped to a request and decided.

A tool call becomes the request (SPEC §1)

    agent    = the calling agent (the guard's ``agent``, or the one a framework names)
    action   = the tool's name (through ``action`` when given, e.g. ``lambda name: "tool." + name``)
    resource = the argument named by ``resources[tool]`` or else ``resource_arg`` (absent when
               the call has no such argument, or it is not a string)
    params   = the arguments (values JSON cannot hold are sent as their ``str``)

and is decided in ``session`` when one is given. The guard fails closed: when the server cannot
be reached the call is denied with code ``unavailable`` (``fail_open=True`` allows it instead);
any other failure — an error the server answered, an answer that is not a decision — denies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Union

from ._client import AsyncClient, Client
from ._types import Decision, RingfenceError, RingfenceUnavailable

AgentSource = Union[Mapping[str, Any], Callable[[], Mapping[str, Any]]]


@dataclass(frozen=True)
class ToolCall:
    """A tool call as a guard sees it."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    agent: Optional[Mapping[str, Any]] = None


class Guard:
    """Decides tool calls with a Ringfence server; shared by the LangChain, MCP and OpenAI Agents guards."""

    def __init__(self, client: Union[Client, AsyncClient], agent: Optional[AgentSource] = None, *, resource_arg: Optional[str] = None,
                 resources: Optional[Mapping[str, str]] = None, session: Optional[str] = None, fail_open: bool = False,
                 action: Optional[Callable[[str], str]] = None, context: Optional[Mapping[str, Any]] = None):
        self.client = client
        self.agent = agent
        self.resource_arg = resource_arg
        self.resources = dict(resources or {})
        self.session = session
        self.fail_open = fail_open
        self.action = action
        self.context = dict(context) if context else None

    def request(self, call: ToolCall) -> dict:
        """The request a tool call maps to."""
        agent = call.agent if call.agent is not None else (self.agent() if callable(self.agent) else self.agent)
        if agent is None:
            raise ValueError("no agent: give the guard an `agent`, or the framework's call one")
        arguments = dict(call.arguments or {})
        request: dict = {"agent": dict(agent), "action": self.action(call.name) if self.action else call.name,
                         "params": _json_safe(arguments)}
        argument = self.resources.get(call.name, self.resource_arg)
        if argument is not None and isinstance(arguments.get(argument), str):
            request["resource"] = arguments[argument]
        if self.context is not None:
            request["context"] = dict(self.context)
        return request

    def check(self, call: ToolCall) -> Decision:
        """The decision for ``call``; never raises, denies on any failure (see the module's doc)."""
        if not isinstance(self.client, Client):
            raise TypeError("this guard holds an AsyncClient: use `await guard.acheck(call)`")
        try:
            return self.client.decide_request(self.request(call), session=self.session)
        except Exception as error:  # every failure decides: fail closed
            return self._failed(error)

    async def acheck(self, call: ToolCall) -> Decision:
        """``check`` for an ``AsyncClient`` (a blocking ``Client`` works too)."""
        try:
            if isinstance(self.client, AsyncClient):
                return await self.client.decide_request(self.request(call), session=self.session)
            return self.client.decide_request(self.request(call), session=self.session)
        except Exception as error:
            return self._failed(error)

    def _failed(self, error: Exception) -> Decision:
        if isinstance(error, RingfenceUnavailable):
            if self.fail_open:
                return Decision(decision="allow", code="unavailable", policy=None, rule=None,
                                reason=f"the decision server cannot be reached; allowed because fail_open is set: {error.message}",
                                ring=3)
            return Decision.denied("unavailable", f"the decision server cannot be reached: {error.message}")
        if isinstance(error, RingfenceError):
            return Decision.denied(error.code, f"the decision server refused the check: {error.message}")
        return Decision.denied("error", f"the check failed: {type(error).__name__}: {error}")


class ToolDenied(Exception):
    """A tool call the guard denied; ``decision`` says why."""

    def __init__(self, tool: str, decision: Decision):
        super().__init__(denial_message(tool, decision))
        self.tool = tool
        self.decision = decision


def denial_message(tool: str, decision: Decision) -> str:
    """The one line a denial reads as: ``ringfence denied `tool` (code): reason``."""
    return f"ringfence denied `{tool}` ({decision.code}): {decision.reason}"


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
