"""Chat templates tunesmith ships, chosen by name in ``TrainConfig.chat_template``.

SmolLM2's own template drops ``tool_calls`` and ``tools`` without a word (an assistant turn that
only calls a function renders empty), so the pre-flight refuses tool-call data for it. The one
template here renders exactly what SmolLM2's does for a conversation without tools, and adds, where
a conversation has them, the tool definitions to the system turn and each call as a JSON object in
a ``<tool_call>`` block — the Hermes / Qwen2.5 convention, which common servers (vLLM's ``hermes``
tool parser) read back. It is opt-in: a template change changes what the tuned model is served
with (the run saves the template with its tokenizer), so the user picks it.
"""

from __future__ import annotations

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

SMOLLM2_TOOLS = (
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set system = messages[0]['content'] %}{%- set turns = messages[1:] %}"
    "{%- else %}"
    "{%- set system = '" + SMOLLM2_DEFAULT_SYSTEM + "' %}{%- set turns = messages %}"
    "{%- endif %}"
    "{%- if messages %}"
    "{{- '<|im_start|>system\\n' + system }}"
    "{%- if tools %}"
    "{{- '\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and "
    'arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{"name": '
    '<function-name>, "arguments": <args-json-object>}\\n</tool_call>\' }}'
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in turns %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message.content %}{{- message.content }}{%- endif %}"
    "{%- if message.tool_calls %}"
    "{%- for call in message.tool_calls %}"
    "{%- set f = call.function if call.function is defined else call %}"
    "{%- if message.content or not loop.first %}{{- '\\n' }}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": ' + (f.name | tojson) + ', \"arguments\": ' }}"
    "{%- if f.arguments is string %}{{- f.arguments }}{%- else %}{{- f.arguments | tojson }}"
    "{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
"""SmolLM2's template with tool definitions and ``<tool_call>`` blocks (see the module doc)."""

BUILTIN_TEMPLATES: dict[str, str] = {"smollm2-tools": SMOLLM2_TOOLS}
"""Shipped templates by the name ``chat_template`` may give instead of a file path."""
