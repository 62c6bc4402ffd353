"""The OpenAI Agents guard through the real ``openai-agents`` SDK, driven by a scripted model."""

from __future__ import annotations

import asyncio
import json

import pytest
from agents import Agent, RunConfig, Runner, ToolInputGuardrailTripwireTriggered, function_tool
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from conftest import AGENT
from ringfence import AsyncClient, Client, Guard
from ringfence.integrations.openai_agents import guard_tools, ringfence_guardrail


class ScriptedModel(Model):
    """A model that calls one tool, then answers with what the tool returned (no network)."""

    def __init__(self, tool: str, arguments: dict):
        self.tool, self.arguments = tool, arguments

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs, tracing, **kwargs):
        outputs = [item for item in (input if isinstance(input, list) else []) if isinstance(item, dict)
                   and item.get("type") == "function_call_output"]
        if not outputs:
            call = ResponseFunctionToolCall(type="function_call", call_id="call-1", name=self.tool,
                                            arguments=json.dumps(self.arguments), id="fc-1", status="completed")
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = str(outputs[-1].get("output"))
        message = ResponseOutputMessage(id="msg-1", role="assistant", status="completed", type="message",
                                        content=[ResponseOutputText(type="output_text", text=text, annotations=[])])
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError("the scripted model does not stream")


def make_tool():
    ran = []

    @function_tool
    def read_file(path: str) -> str:
        """Reads a file."""
        ran.append(path)
        return f"contents of {path}"

    return read_file, ran


def run_agent(tool, path: str) -> str:
    agent = Agent(name="assistant", instructions="read files", model=ScriptedModel("read_file", {"path": path}), tools=[tool])
    result = asyncio.run(Runner.run(agent, "read the file", run_config=RunConfig(tracing_disabled=True)))
    return str(result.final_output)


def test_allowed_calls_run_and_denied_calls_are_rejected(server):
    tool, ran = make_tool()
    guard_tools([tool], Guard(Client(server.url), AGENT, resource_arg="path"))  # one blocking client across runs
    assert run_agent(tool, "/workspace/a.txt") == "contents of /workspace/a.txt"
    answer = run_agent(tool, "/workspace/secrets/key")
    assert answer.startswith("ringfence denied `read_file` (deny_rule)")
    assert ran == ["/workspace/a.txt"]


def test_raise_stops_the_run_and_the_sdk_agent_names_the_caller(server):
    tool, ran = make_tool()
    tool.tool_input_guardrails = [ringfence_guardrail(Guard(AsyncClient(server.url), resource_arg="path"), on_deny="raise")]
    with pytest.raises(ToolInputGuardrailTripwireTriggered) as raised:
        run_agent(tool, "/etc/passwd")
    assert raised.value.output.output_info["code"] == "default"
    assert ran == []


def test_fails_closed_when_the_server_cannot_be_reached(unreachable_url):
    tool, ran = make_tool()
    guard_tools([tool], Guard(Client(unreachable_url, timeout=0.5), AGENT, resource_arg="path"))
    assert run_agent(tool, "/workspace/a.txt").startswith("ringfence denied `read_file` (unavailable)")
    assert ran == []
