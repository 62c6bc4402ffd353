"""Guarding an MCP server's ``tools/call`` (package ``mcp``, 2.x).

``guard_server(server, guard)`` puts a check in front of the server's ``tools/call`` handler:
each call is decided first (action = the tool's name, params = its arguments, resource = the
guard's resource argument), and a denied call never reaches the tool. Following the AuthZEN
working group's mapping for MCP, a denial is a JSON-RPC error with code ``-32001``; its
``data`` holds the decision (``decision``, ``code``, ``policy``, ``rule``, ``reason``,
``ring``), so a client can tell a policy denial from a failure of the tool.

The calling agent is the guard's ``agent`` unless ``agent_from(ctx, params)`` names it (from
the request's ``_meta``, the authenticated client, ...). A decision server that cannot be
reached denies (``code`` ``unavailable``) unless the guard is ``fail_open``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable, Mapping, Optional, Union

from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from .._guard import Guard, ToolCall, denial_message

__all__ = ["DENIED", "guard_server"]

DENIED = -32001
"""The JSON-RPC error code of a tool call Ringfence denied."""


def _lowlevel(server: Union[Server, MCPServer]) -> Server:
    if isinstance(server, MCPServer):
        return server._lowlevel_server  # the SDK's in-memory transport unwraps it the same way
    if isinstance(server, Server):
        return server
    raise TypeError("expected an mcp Server or MCPServer")


def guard_server(server: Union[Server, MCPServer], guard: Guard, *,
                 agent_from: Optional[Callable[[Any, Any], Mapping[str, Any]]] = None) -> None:
    """Decides every ``tools/call`` of ``server`` with ``guard`` before the tool runs."""
    lowlevel = _lowlevel(server)
    entry = lowlevel.get_request_handler("tools/call")
    if entry is None:
        raise ValueError("the server has no `tools/call` handler to guard; register its tools first")
    inner = entry.handler

    async def guarded(ctx: Any, params: Any) -> Any:
        agent = agent_from(ctx, params) if agent_from is not None else None
        call = ToolCall(params.name, dict(params.arguments or {}), agent)
        decision = await guard.acheck(call)
        if not decision.allowed:
            data = asdict(decision)
            data["allowed"] = False
            raise MCPError(DENIED, denial_message(params.name, decision), data)
        return await inner(ctx, params)

    lowlevel.add_request_handler("tools/call", entry.params_type, guarded)
