"""Guarding OpenAI Agents SDK tool calls (package ``openai-agents``) with a tool input guardrail.

``ringfence_guardrail(guard)`` is a ``ToolInputGuardrail``: before a function tool runs, the
call is decided (action = the tool's name, params = its JSON arguments, resource = the guard's
resource argument). An allowed call runs; a denied one is rejected — the model is told
``ringfence denied `tool` (code): reason`` and the run goes on — or, with
``on_deny="raise"``, the run stops with ``ToolInputGuardrailTripwireTriggered``. The
decision is in the guardrail's ``output_info``.

The calling agent is the guard's ``agent`` when it has one, else ``{"id": <the SDK agent's
name>}``; ``agent_from(data)`` overrides both. ``guard_tools(tools, guard)`` adds the guardrail
to function tools. A decision server that cannot be reached denies unless the guard is
``fail_open``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Callable, Iterable, Mapping, Optional

from agents import FunctionTool
from agents.tool_guardrails import (ToolGuardrailFunctionOutput, ToolInputGuardrail, ToolInputGuardrailData)

from .._guard import Guard, ToolCall, denial_message

__all__ = ["guard_tools", "ringfence_guardrail"]


def _arguments(text: Optional[str]) -> dict:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"arguments": text}
    return value if isinstance(value, dict) else {"arguments": value}


def ringfence_guardrail(guard: Guard, *, on_deny: str = "reject", name: str = "ringfence",
                        agent_from: Optional[Callable[[ToolInputGuardrailData], Mapping[str, Any]]] = None) -> ToolInputGuardrail:
    """A tool input guardrail deciding every call with ``guard``; ``on_deny`` is ``"reject"`` or ``"raise"``."""
    if on_deny not in ("reject", "raise"):
        raise ValueError("on_deny must be `reject` or `raise`")

    async def check(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        if agent_from is not None:
            agent = dict(agent_from(data))
        elif guard.agent is not None:
            agent = None
        else:
            agent = {"id": getattr(data.agent, "name", None) or "agent"}
        tool = data.context.tool_name
        decision = await guard.acheck(ToolCall(tool, _arguments(data.context.tool_arguments), agent))
        info = asdict(decision)
        if decision.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=info)
        if on_deny == "raise":
            return ToolGuardrailFunctionOutput.raise_exception(output_info=info)
        return ToolGuardrailFunctionOutput.reject_content(denial_message(tool, decision), output_info=info)

    return ToolInputGuardrail(guardrail_function=check, name=name)


def guard_tools(tools: Iterable[FunctionTool], guard: Guard, *, on_deny: str = "reject") -> list[FunctionTool]:
    """Adds the guardrail to each function tool (in place) and returns them."""
    guardrail = ringfence_guardrail(guard, on_deny=on_deny)
    guarded = []
    for tool in tools:
        tool.tool_input_guardrails = list(tool.tool_input_guardrails or []) + [guardrail]
        guarded.append(tool)
    return guarded
