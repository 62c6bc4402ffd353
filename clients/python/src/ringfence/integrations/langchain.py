"""Guarding LangChain tool calls (``langchain-core``).

Two ways in, both deciding every call with a ``ringfence.Guard`` before the tool runs:

- ``guard_tool(tool, guard)`` wraps a tool: the wrapped tool has the same name, description and
  arguments, and a denied call raises ``RingfenceToolDenied`` (a ``ToolException``, so a tool
  built with ``handle_tool_error=True`` hands the denial to the model as the tool's output) —
  or, with ``on_deny="return"``, returns the denial message as the tool's output.
- ``ToolCallGuard(guard)`` is tool-call middleware: called with a request carrying
  ``tool_call`` (``{"name", "args", "id"}``) and the next handler, it answers a denied call with
  an error ``ToolMessage`` instead of running the tool; pass it to LangChain's
  ``wrap_tool_call`` (``langchain.agents.middleware``) to guard every tool of an agent.

A server that cannot be reached denies (``code == "unavailable"``) unless the guard is
``fail_open``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException

from .._guard import Guard, ToolCall, ToolDenied, denial_message
from .._types import Decision

__all__ = ["RingfenceToolDenied", "ToolCallGuard", "guard_tool", "guard_tools"]


class RingfenceToolDenied(ToolException, ToolDenied):
    """A LangChain tool call Ringfence denied; ``decision`` says why."""

    def __init__(self, tool: str, decision: Decision):
        ToolDenied.__init__(self, tool, decision)


def guard_tool(tool: BaseTool, guard: Guard, *, on_deny: str = "raise") -> BaseTool:
    """``tool`` behind ``guard``: every call is decided first; ``on_deny`` is ``"raise"`` or ``"return"``."""
    if on_deny not in ("raise", "return"):
        raise ValueError("on_deny must be `raise` or `return`")

    def denied(decision: Decision) -> str:
        if on_deny == "return":
            return denial_message(tool.name, decision)
        raise RingfenceToolDenied(tool.name, decision)

    def run(**arguments: Any) -> Any:
        decision = guard.check(ToolCall(tool.name, arguments))
        if not decision.allowed:
            return denied(decision)
        return tool.invoke(arguments)

    async def arun(**arguments: Any) -> Any:
        decision = await guard.acheck(ToolCall(tool.name, arguments))
        if not decision.allowed:
            return denied(decision)
        return await tool.ainvoke(arguments)

    return StructuredTool.from_function(func=run, coroutine=arun, name=tool.name, description=tool.description,
                                        args_schema=tool.args_schema, return_direct=tool.return_direct,
                                        handle_tool_error=tool.handle_tool_error)


def guard_tools(tools: list[BaseTool], guard: Guard, *, on_deny: str = "raise") -> list[BaseTool]:
    """Every tool of ``tools`` behind ``guard``."""
    return [guard_tool(tool, guard, on_deny=on_deny) for tool in tools]


class ToolCallGuard:
    """Tool-call middleware: ``guard(request, handler)`` runs the handler only for allowed calls."""

    def __init__(self, guard: Guard):
        self.guard = guard

    @staticmethod
    def _call(request: Any) -> dict:
        call = getattr(request, "tool_call", request)
        if not isinstance(call, dict) or "name" not in call:
            raise TypeError("the request carries no tool call (`tool_call` with `name`, `args`, `id`)")
        return call

    @staticmethod
    def _refusal(call: dict, decision: Decision) -> ToolMessage:
        return ToolMessage(content=denial_message(call["name"], decision), tool_call_id=call.get("id") or "",
                           name=call["name"], status="error")

    def __call__(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        call = self._call(request)
        decision = self.guard.check(ToolCall(call["name"], call.get("args") or {}))
        if not decision.allowed:
            return self._refusal(call, decision)
        return handler(request)

    async def acall(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """The same for async handlers."""
        call = self._call(request)
        decision = await self.guard.acheck(ToolCall(call["name"], call.get("args") or {}))
        if not decision.allowed:
            return self._refusal(call, decision)
        return await handler(request)
