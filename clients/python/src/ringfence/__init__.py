"""Ringfence: decisions for AI agents' tool calls, from the Ringfence decision server.

    from ringfence import Client
    with Client("http://127.0.0.1:8787") as client:
        decision = client.decide({"id": "agent-1", "trust": 0.8}, "fs.read", resource="/workspace/a.csv")
        if not decision.allowed: ...
"""

from ._client import OPERATIONS, SEMANTICS, AsyncClient, Client
from ._guard import Guard, ToolCall, ToolDenied
from ._types import Decision, Evaluation, OpResult, RingfenceError, RingfenceUnavailable

__all__ = ["AsyncClient", "Client", "Decision", "Evaluation", "Guard", "OPERATIONS", "OpResult", "RingfenceError",
           "RingfenceUnavailable", "SEMANTICS", "ToolCall", "ToolDenied"]
__version__ = "0.1.0"
