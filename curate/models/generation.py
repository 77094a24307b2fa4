"""The Generator contract: batched chat in, texts out. Backends live in ``curate.models.backends``."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from curate.records import Message

ChatTools = list[list[dict[str, Any]] | None] | None
"""Per chat, the tool definitions it offers (None: none); None for the whole call: no tools."""


class SamplingParams(BaseModel):
    """How to sample. Greedy (temperature 0) is the default, and what gating uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.0, ge=0.0)
    """0 means greedy decoding."""
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass (ignored when greedy)."""
    max_tokens: int = Field(256, ge=1)
    """The most new tokens to generate."""
    stop: tuple[str, ...] = ()
    """Strings that end generation (not included in the text)."""
    seed: int = 0
    """Sampling seed, so sampled runs repeat."""


class Generation(BaseModel):
    """One generated answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    """The generated text."""
    finish_reason: Literal["stop", "length"] | None = None
    """``stop``: the model ended its turn or hit a stop string; ``length``: max_tokens."""
    cached: bool = False
    """True when it came from the store's generation cache."""


class Generator(Protocol):
    """A model that answers chats in batches."""

    backend: str
    """The backend's name: ``transformers``, ``openai`` or ``vllm``."""
    model: str
    """The model's name as the user gave it (alias, folder or hub id)."""

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
        *,
        tools: ChatTools = None,
    ) -> list[Generation]:
        """Answer each chat (ending with a user turn); one Generation per chat, in order.

        ``tools``, where given, holds one entry per chat: the function definitions that chat
        offers (OpenAI's ``{"type": "function", "function": {...}}``), or None for none. A
        backend passes them to the chat template or the server (``curate.models.tools``).
        Callers pass ``tools`` only when some chat has tools, so a generator without the
        keyword still serves every other chat.
        """
        ...
