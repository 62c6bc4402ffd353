"""The LangChain guard through the real ``langchain-core``: wrapped tools and tool-call middleware."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool

from conftest import AGENT
from ringfence import Client, Guard
from ringfence.integrations.langchain import RingfenceToolDenied, ToolCallGuard, guard_tool


@tool
def read_file(path: str) -> str:
    """Reads a file."""
    return f"contents of {path}"


def test_wrapped_tool_runs_allowed_calls_and_refuses_denied_ones(server):
    guard = Guard(Client(server.url), AGENT, resource_arg="path")
    guarded = guard_tool(read_file, guard)
    assert guarded.name == "read_file" and guarded.args == read_file.args
    assert guarded.invoke({"path": "/workspace/a.txt"}) == "contents of /workspace/a.txt"
    with pytest.raises(RingfenceToolDenied) as raised:
        guarded.invoke({"path": "/workspace/secrets/key"})
    assert raised.value.decision.code == "deny_rule" and raised.value.decision.rule == "no-secrets"
    returning = guard_tool(read_file, guard, on_deny="return")
    assert returning.invoke({"path": "/etc/passwd"}).startswith("ringfence denied `read_file` (default)")
    assert asyncio.run(guarded.ainvoke({"path": "/workspace/b.txt"})) == "contents of /workspace/b.txt"


def test_tool_call_middleware(server):
    middleware = ToolCallGuard(Guard(Client(server.url), AGENT, resource_arg="path"))
    ran = []

    def handler(request):
        ran.append(request.tool_call["args"]["path"])
        return ToolMessage(content="ok", tool_call_id=request.tool_call["id"])

    allowed = middleware(SimpleNamespace(tool_call={"name": "read_file", "args": {"path": "/workspace/a"}, "id": "c1"}), handler)
    assert allowed.content == "ok"
    denied = middleware(SimpleNamespace(tool_call={"name": "read_file", "args": {"path": "/workspace/secrets/x"}, "id": "c2"}), handler)
    assert isinstance(denied, ToolMessage) and denied.status == "error" and denied.tool_call_id == "c2"
    assert "no-secrets" not in denied.content and "(deny_rule)" in denied.content
    assert ran == ["/workspace/a"]


def test_fails_closed_when_the_server_cannot_be_reached(unreachable_url):
    closed = guard_tool(read_file, Guard(Client(unreachable_url, timeout=0.5), AGENT, resource_arg="path"))
    with pytest.raises(RingfenceToolDenied) as raised:
        closed.invoke({"path": "/workspace/a.txt"})
    assert raised.value.decision.code == "unavailable"
    open_guard = guard_tool(read_file, Guard(Client(unreachable_url, timeout=0.5), AGENT, resource_arg="path", fail_open=True))
    assert open_guard.invoke({"path": "/workspace/a.txt"}) == "contents of /workspace/a.txt"
