"""A LangChain tool behind Ringfence: a scripted tool call, no model and no network.

Needs: pip install ./clients/python langchain-core
Run a server first:  ringfence serve -p examples/python/policies --state memory:
Then:                python examples/python/langchain_guard.py [URL]
"""

import sys

from langchain_core.tools import tool

from ringfence import Client, Guard
from ringfence.integrations.langchain import RingfenceToolDenied, guard_tool

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"


@tool
def read_file(path: str) -> str:
    """Reads a file from the workspace."""
    return f"(the contents of {path})"


# The calling agent, and the argument that names the resource the tool touches.
guard = Guard(Client(url), {"id": "langchain-agent", "trust": 0.8}, resource_arg="path")
guarded = guard_tool(read_file, guard)

# What a model's tool calls would do: one allowed, one denied.
print("read_file /workspace/notes.md ->", guarded.invoke({"path": "/workspace/notes.md"}))
try:
    guarded.invoke({"path": "/workspace/secrets/token"})
except RingfenceToolDenied as denied:
    print("read_file /workspace/secrets/token ->", denied)
