"""The MCP guard through the real ``mcp`` SDK: a denied ``tools/call`` is JSON-RPC error -32001."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from conftest import AGENT
from ringfence import AsyncClient, Guard
from ringfence.integrations.mcp import DENIED, guard_server


def make_server() -> MCPServer:
    server = MCPServer("files")

    @server.tool()
    def read_file(path: str) -> str:
        """Reads a file."""
        return f"contents of {path}"

    return server


def test_allowed_calls_reach_the_tool_and_denied_ones_are_errors(server):
    async def run():
        mcp_server = make_server()
        guard_server(mcp_server, Guard(AsyncClient(server.url), AGENT, resource_arg="path"))
        async with Client(mcp_server) as client:
            result = await client.call_tool("read_file", {"path": "/workspace/a.txt"})
            assert not result.is_error
            assert "contents of /workspace/a.txt" in result.content[0].text
            with pytest.raises(MCPError) as raised:
                await client.call_tool("read_file", {"path": "/workspace/secrets/key"})
            assert raised.value.code == DENIED == -32001
            assert raised.value.data["code"] == "deny_rule" and raised.value.data["rule"] == "no-secrets"
            assert raised.value.message.startswith("ringfence denied `read_file` (deny_rule)")
    anyio.run(run)


def test_the_calling_agent_comes_from_the_request(server):
    seen = []

    def agent_from(ctx, params):
        seen.append(params.name)
        return {"id": "mcp-client", "trust": 0.3}   # ring 3: still allowed to read the workspace

    async def run():
        mcp_server = make_server()
        guard_server(mcp_server, Guard(AsyncClient(server.url), resource_arg="path"), agent_from=agent_from)
        async with Client(mcp_server) as client:
            result = await client.call_tool("read_file", {"path": "/workspace/a.txt"})
            assert not result.is_error
    anyio.run(run)
    assert seen == ["read_file"]


def test_fails_closed_when_the_server_cannot_be_reached(unreachable_url):
    async def run():
        mcp_server = make_server()
        guard_server(mcp_server, Guard(AsyncClient(unreachable_url, timeout=0.5), AGENT, resource_arg="path"))
        async with Client(mcp_server) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("read_file", {"path": "/workspace/a.txt"})
            assert raised.value.code == DENIED and raised.value.data["code"] == "unavailable"
    anyio.run(run)
