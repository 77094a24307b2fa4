"""The ``openai`` backend: any OpenAI-compatible chat-completions server, over HTTP.

``vllm serve``, ``transformers serve``, llama.cpp's server or a hosted API. Requests run
concurrently up to a limit; 429, 5xx, timeouts and dropped connections are retried with
exponential backoff (honouring ``Retry-After``); other 4xx answers fail at once with the server's
message. The API key comes from the environment, never from code or config files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from curate.errors import InputError, TunesmithError
from curate.models.generation import ChatTools, Generation, SamplingParams
from curate.models.logprobs import TOP_K, combine
from curate.models.tools import openai_tools, tool_calls_text, tools_in_system
from curate.records import Message

KEY_VARS = ("TUNESMITH_API_KEY", "OPENAI_API_KEY")
"""Environment variables searched, in order, for the API key (when ``api_key_env`` is not set)."""

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIGenerator:
    """Chat completions from an OpenAI-compatible server, concurrent, with retries."""

    backend = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        tools_in_prompt: bool = False,
    ) -> None:
        """Args:
        model: the model name the server serves.
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (default ``$OPENAI_BASE_URL``
            or OpenAI's).
        api_key_env: the environment variable holding the key (default: the first set of
            ``TUNESMITH_API_KEY``, ``OPENAI_API_KEY``; local servers need none).
        max_concurrency: requests in flight at once.
        timeout_s: seconds to wait for one answer.
        max_retries: retries of one request after a retryable failure.
        backoff_s: the first retry's wait; doubled each retry.
        max_backoff_s: the longest wait between retries.
        tools_in_prompt: write a chat's tools into its system prompt
            (``curate.models.tools.tools_in_system``) instead of sending them as ``tools``, for
            servers whose chat template ignores ``tools`` (SmolLM2 behind ``transformers
            serve``, say).
        """
        self.model = model
        self.base_url = (
            base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        ).rstrip("/")
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.tools_in_prompt = tools_in_prompt
        self.retries = 0
        """Retries made so far (for reports and tests)."""
        headers = {"Content-Type": "application/json"}
        key = _api_key(api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=max_concurrency),
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
        *,
        tools: ChatTools = None,
    ) -> list[Generation]:
        """Answer each chat, ``max_concurrency`` requests at a time; in order.

        ``adapter`` is sent as the model name (how ``vllm serve --lora-modules`` names them).
        A chat's ``tools`` are sent as the request's ``tools`` (names with a ``.``, which
        OpenAI's API refuses, get ``_`` instead, as BFCL does); calls the server returns as
        structured ``tool_calls`` come back in the text as ``<tool_call>{...}</tool_call>``
        lines (``curate.models.tools.tool_calls_text``).
        """
        model = adapter or self.model
        jobs = list(zip(chats, tools or [None] * len(chats), strict=True))
        if len(chats) <= 1 or self.max_concurrency == 1:
            return [self._complete(chat, params, model, t) for chat, t in jobs]
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            return list(pool.map(lambda job: self._complete(job[0], params, model, job[1]), jobs))

    def _complete(
        self,
        chat: list[Message],
        params: SamplingParams,
        model: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Generation:
        messages = [m.model_dump() for m in chat]
        if tools and self.tools_in_prompt:
            messages, tools = tools_in_system(messages, tools), None
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "seed": params.seed,
        }
        if params.temperature > 0:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = list(params.stop)
        if tools:
            body["tools"] = _api_tools(tools)
        choice = self._post("/chat/completions", body)["choices"][0]
        text = tool_calls_text(
            choice["message"].get("content") or "", choice["message"].get("tool_calls")
        )
        # Some servers keep the stop string in the text; the contract says it is left out.
        cuts = [text.find(s) for s in params.stop if s in text]
        reason = choice.get("finish_reason")
        return Generation(
            text=text[: min(cuts)] if cuts else text,
            finish_reason=reason if reason in ("stop", "length") else None,
        )

    def choice_logprobs(
        self, chats: list[list[Message]], options: Sequence[str], adapter: str | None = None
    ) -> list[dict[str, float]]:
        """Per chat, each option's log-probability as the answer's first token: one token with
        ``logprobs=True, top_logprobs=TOP_K`` (``curate.models.logprobs``).

        Raises:
            InputError: the server returned no log-probabilities.
        """
        model = adapter or self.model

        def one(chat: list[Message]) -> dict[str, float]:
            body = {
                "model": model,
                "messages": [m.model_dump() for m in chat],
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": True,
                "top_logprobs": TOP_K,
            }
            choice = self._post("/chat/completions", body)["choices"][0]
            content = (choice.get("logprobs") or {}).get("content") or []
            if not content:
                raise InputError(
                    f"{self.base_url} returned no log-probabilities: use the generative judge"
                )
            first = content[0]
            listed = [(t["token"], t["logprob"]) for t in first.get("top_logprobs") or []]
            return combine(options, listed or [(first["token"], first["logprob"])])

        if len(chats) <= 1 or self.max_concurrency == 1:
            return [one(chat) for chat in chats]
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            return list(pool.map(one, chats))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            wait = self.backoff_s * 2**attempt
            try:
                response = self._client.post(path, json=body)
            except (httpx.TransportError, httpx.TimeoutException) as e:
                failure = f"{type(e).__name__}: {e}"
            else:
                if response.status_code < 400:
                    return response.json()
                failure = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise InputError(f"{self.base_url}{path} refused the request: {failure}")
                wait = _retry_after(response) or wait
            if attempt == self.max_retries:
                break
            self.retries += 1
            time.sleep(min(wait, self.max_backoff_s))
        raise TunesmithError(
            f"{self.base_url}{path} failed after {self.max_retries + 1} attempts: {failure}"
        )


def _api_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in openai_tools(tools):
        fn = dict(tool["function"])
        fn["name"] = str(fn.get("name", "")).replace(".", "_")
        out.append({**tool, "function": fn})
    return out


def _api_key(env_var: str | None) -> str | None:
    if env_var:
        key = os.environ.get(env_var)
        if not key:
            raise InputError(f"api_key_env names {env_var}, which is not set")
        return key
    return next((os.environ[v] for v in KEY_VARS if os.environ.get(v)), None)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
