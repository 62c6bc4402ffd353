"""An MCP server whose tools/call is checked by Ringfence: a scripted call over the MCP SDK's
in-memory transport, no model and no network. A denial is JSON-RPC error -32001.

Needs: pip install ./clients/python mcp
Run a server first:  ringfence serve -p examples/python/policies --state memory:
Then:                python examples/python/mcp_guard.py [URL]
"""

import logging
import sys

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from ringfence import AsyncClient, Guard
from ringfence.integrations.mcp import guard_server

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"

server = MCPServer("files")
# The MCP server turns on INFO logging, which shows every HTTP request the client makes.
logging.getLogger("httpx").setLevel(logging.WARNING)


@server.tool()
def read_file(path: str) -> str:
    """Reads a file from the workspace."""
    return f"(the contents of {path})"


async def main() -> None:
    guard_server(server, Guard(AsyncClient(url), {"id": "mcp-client", "trust": 0.8}, resource_arg="path"))
    async with Client(server) as client:
        result = await client.call_tool("read_file", {"path": "/workspace/notes.md"})
        print("tools/call read_file /workspace/notes.md ->", result.content[0].text)
        try:
            await client.call_tool("read_file", {"path": "/workspace/secrets/token"})
        except MCPError as error:
            print(f"tools/call read_file /workspace/secrets/token -> json-rpc error {error.code}: {error.message}")


anyio.run(main)
