"""Chat completions: a forced (or the only) function tool answers with one `tool_calls`
entry, a `json_schema` response format with JSON content, both fitting their schema.

Answers are built from the last user message. When it contains `INVALID_JSON_MARKER`,
the first answer to it breaks the schema and later ones do not, so clients can test
their repair and retry paths; with `ALWAYS_INVALID_MARKER` (plain words, so it survives a
keyword's cleaning) every answer breaks it, a model that never follows the rules.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.json_schema_example import example, violating_example
from sandbox.openai.base import ModelRequest, OpenAIError, count_tokens
from sandbox.openai.state import OpenAIState

INVALID_JSON_MARKER = "[emulator:invalid-json]"
ALWAYS_INVALID_MARKER = "emulator-always-invalid"
SYSTEM_FINGERPRINT = "fp_emulator"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["developer", "system", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(ModelRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    response_format: dict[str, Any] | None = None
    n: int = Field(default=1, ge=1, le=8)
    stream: bool = False


def _message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return " ".join(str(part.get("text", "")) for part in parts if part.get("type") == "text")


def completion(request: ChatRequest, state: OpenAIState) -> dict[str, Any]:
    """The `chat.completion` answer to `request`."""
    prompt = next((_message_text(m) for m in reversed(request.messages) if m.role == "user"), "")
    text = " ".join(prompt.replace(INVALID_JSON_MARKER, " ").split())
    broken = ALWAYS_INVALID_MARKER in prompt or (
        INVALID_JSON_MARKER in prompt and state.first_answer(prompt)
    )
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    tool = _forced_tool(request.tools, request.tool_choice)
    if tool is not None:
        schema = tool.get("parameters") or {"type": "object", "properties": {}}
        value = violating_example(schema, text) if broken else example(schema, text)
        output = json.dumps(_judge_ip_risk(value, schema, text))
        call = {"name": tool.get("name", ""), "arguments": output}
        message["tool_calls"] = [
            {"id": f"call_{secrets.token_hex(12)}", "type": "function", "function": call}
        ]
        finish_reason = "tool_calls"
    else:
        output = message["content"] = _reply(request.response_format, text, broken)
        finish_reason = "stop"
    prompt_tokens = sum(count_tokens(_message_text(m)) for m in request.messages)
    completion_tokens = count_tokens(output) * request.n
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}
            for index in range(request.n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
    }


# What the emulated model recognises as protected work when asked for an `ip_risk`: a
# few famous names, so a client's refusal path can be rehearsed offline. (A real model
# knows far more; the platform's own list screens keywords before any model sees them.)
FAMOUS_WORKS = ("star wars", "disney", "pokemon", "harry potter", "taylor swift", "nike")


def _judge_ip_risk(value: Any, schema: dict[str, Any], text: str) -> Any:
    """`value` with its `ip_risk` (an enum, lowest first) set as a model would judge it:
    the highest level when the message names a famous work, else the lowest."""
    risk = (schema.get("properties") or {}).get("ip_risk")
    if not isinstance(value, dict) or "ip_risk" not in value or not isinstance(risk, dict):
        return value
    levels = risk.get("enum") or []
    if not levels:
        return value
    named = [work for work in FAMOUS_WORKS if work in text.lower()]
    value["ip_risk"] = levels[-1] if named else levels[0]
    if "ip_risk_reason" in value:
        value["ip_risk_reason"] = (
            f"it names {named[0]}, a protected work" if named else "no protected work named"
        )
    return value


def _forced_tool(
    tools: list[dict[str, Any]], choice: str | dict[str, Any]
) -> dict[str, Any] | None:
    """The function to call: the one `choice` names or requires, or the only one offered."""
    functions = [t["function"] for t in tools if isinstance(t.get("function"), dict)]
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        named = [function for function in functions if function.get("name") == name]
        if not named:
            raise OpenAIError(
                400,
                f"Invalid value for 'tool_choice': no tool named {name!r}.",
                param="tool_choice",
            )
        return named[0]
    if functions and (choice == "required" or (choice == "auto" and len(functions) == 1)):
        return functions[0]
    return None


def _reply(response_format: dict[str, Any] | None, text: str, broken: bool) -> str:
    response_format = response_format or {}
    kind = response_format.get("type", "text")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            param = "response_format.json_schema.schema"
            raise OpenAIError(400, f"Missing required parameter: '{param}'.", param=param)
        return json.dumps(violating_example(schema, text) if broken else example(schema, text))
    if kind == "json_object":
        return json.dumps({"reply": text})
    return f"Emulated reply to: {text}"
