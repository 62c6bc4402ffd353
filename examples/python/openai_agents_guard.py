"""An OpenAI Agents SDK tool with a Ringfence tool input guardrail, driven by a scripted model
(no API key, no network): the model asks for two files; the guardrail lets one through and
rejects the other, and the agent carries on.

Needs: pip install ./clients/python openai-agents
Run a server first:  ringfence serve -p examples/python/policies --state memory:
Then:                python examples/python/openai_agents_guard.py [URL]
"""

import asyncio
import json
import sys

from agents import Agent, RunConfig, Runner, function_tool
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from ringfence import Client, Guard
from ringfence.integrations.openai_agents import guard_tools

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"


class ScriptedModel(Model):
    """Calls `read_file` on `path`, then answers with what the tool (or the guardrail) said."""

    def __init__(self, path: str):
        self.path = path

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs, tracing, **kwargs):
        outputs = [i for i in (input if isinstance(input, list) else []) if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if not outputs:
            call = ResponseFunctionToolCall(type="function_call", call_id="call-1", name="read_file",
                                            arguments=json.dumps({"path": self.path}), id="fc-1", status="completed")
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = ResponseOutputText(type="output_text", text=str(outputs[-1]["output"]), annotations=[])
        return ModelResponse(output=[ResponseOutputMessage(id="m-1", role="assistant", status="completed", type="message",
                                                           content=[text])], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


@function_tool
def read_file(path: str) -> str:
    """Reads a file from the workspace."""
    return f"(the contents of {path})"


guard_tools([read_file], Guard(Client(url), {"id": "agents-sdk-agent", "trust": 0.8}, resource_arg="path"))
for path in ["/workspace/notes.md", "/workspace/secrets/token"]:
    agent = Agent(name="assistant", instructions="read files", model=ScriptedModel(path), tools=[read_file])
    result = asyncio.run(Runner.run(agent, "read it", run_config=RunConfig(tracing_disabled=True)))
    print(f"read_file {path} ->", result.final_output)
