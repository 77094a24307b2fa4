"""The ``transformers`` backend: local batched generation on the CPU or a GPU, with PEFT adapters.

``load_causal_lm`` is the reusable part: it loads a model and its tokenizer once per process and
shares that base model between the plain model and any number of LoRA adapters, toggled per call.
Other code that needs the model itself (per-token log-probs for perplexity, say) calls it too::

    lm = load_causal_lm("smollm2-135m")
    with lm.active("runs/adapter") as model:   # or active(None) for the base model
        logits = model(**lm.tokenizer(texts, return_tensors="pt", padding=True)).logits
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curate.errors import InputError, NotFoundError
from curate.models.generation import ChatTools, Generation, SamplingParams
from curate.models.resolve import require, resolve_model
from curate.models.tools import render_chat
from curate.records import Message

_LOADED: dict[tuple[str, str, str], LoadedLM] = {}
_LOAD_LOCK = threading.Lock()


class LoadedLM:
    """A causal LM and its tokenizer, loaded once, with LoRA adapters attached on demand.

    The base weights are shared: an adapter is loaded into the same model object (PEFT) and
    switched on only inside ``active(adapter)``; ``active(None)`` runs the base model with every
    adapter disabled. Not safe for concurrent use from several threads (``lock`` serialises).
    """

    def __init__(self, model: Any, tokenizer: Any, device: str) -> None:
        self.model = model
        """The loaded model (a ``PeftModel`` once an adapter has been attached)."""
        self.tokenizer = tokenizer
        """Its tokenizer, padding on the left (for batched generation)."""
        self.device = device
        """Where the model lives: ``cpu`` or ``cuda``."""
        self.adapters: dict[str, str] = {}
        """Attached adapters: resolved folder → PEFT adapter name."""
        self.lock = threading.RLock()
        """Held while a call uses the model, since adapters are switched in place."""

    def _attach(self, adapter: str) -> str:
        folder = str(Path(adapter).expanduser().resolve())
        if folder in self.adapters:
            return self.adapters[folder]
        if not (Path(folder) / "adapter_config.json").exists():
            raise NotFoundError(f"adapter {adapter!r} is not a folder with adapter_config.json")
        peft = require("peft")

        name = f"a{len(self.adapters)}"
        if isinstance(self.model, peft.PeftModel):
            self.model.load_adapter(folder, adapter_name=name)
        else:
            self.model = peft.PeftModel.from_pretrained(self.model, folder, adapter_name=name)
        self.model.eval()
        self.adapters[folder] = name
        return name

    @contextmanager
    def active(self, adapter: str | None) -> Iterator[Any]:
        """The model with ``adapter`` switched on (None: the base model, adapters off)."""
        with self.lock:
            if adapter is None:
                if self.adapters:
                    with self.model.disable_adapter():
                        yield self.model
                else:
                    yield self.model
                return
            name = self._attach(adapter)
            self.model.set_adapter(name)
            yield self.model


def load_causal_lm(model: str, *, device: str | None = None, dtype: str = "auto") -> LoadedLM:
    """Load a causal LM and its tokenizer once per process (cached by folder, device, dtype).

    Args:
        model: an alias (``smollm2-135m``), a local folder or (with the hub on) a hub id.
        device: ``cpu`` or ``cuda``; default: cuda when available.
        dtype: ``auto`` (float32 on the CPU, bfloat16 on a GPU), ``float32``, ``bfloat16``,
            ``float16``.

    Returns:
        The shared ``LoadedLM``; use ``active(adapter)`` to run it with or without an adapter.
    """
    torch = require("torch")

    folder = resolve_model(model)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "float32" if device == "cpu" else "bfloat16"
    key = (folder, device, dtype)
    with _LOAD_LOCK:
        if key not in _LOADED:
            transformers = require("transformers")

            tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            lm = transformers.AutoModelForCausalLM.from_pretrained(
                folder, dtype=getattr(torch, dtype)
            )
            lm.to(device).eval()  # type: ignore[arg-type]
            _LOADED[key] = LoadedLM(lm, tokenizer, device)
        return _LOADED[key]


class TransformersGenerator:
    """Batched generation with Hugging Face transformers (left padding, the chat template)."""

    backend = "transformers"

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 8,
        device: str | None = None,
        dtype: str = "auto",
        threads: int | None = None,
    ) -> None:
        """Args:
        model: alias, folder or hub id (loaded on first use).
        batch_size: chats generated together; more is faster per token, up to memory.
        device: ``cpu`` or ``cuda`` (default: cuda when available).
        dtype: see ``load_causal_lm``.
        threads: torch CPU threads (1 when a server and a client share two cores).
        """
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.threads = threads

    def generate(
        self,
        chats: list[list[Message]],
        params: SamplingParams,
        adapter: str | None = None,
        *,
        tools: ChatTools = None,
    ) -> list[Generation]:
        """Answer each chat; one Generation per chat, in order.

        A chat's ``tools`` go to the chat template, or into the system prompt where the template
        ignores them (``curate.models.tools.render_chat``).
        """
        if not chats:
            return []
        torch = require("torch")

        if self.threads:
            torch.set_num_threads(self.threads)
        lm = load_causal_lm(self.model, device=self.device, dtype=self.dtype)
        per_chat = tools or [None] * len(chats)
        tokenizer = _with_adapter_template(lm.tokenizer, adapter)
        texts = [
            render_chat(tokenizer, [m.to_chat() for m in chat], chat_tools)
            for chat, chat_tools in zip(chats, per_chat, strict=True)
        ]
        # Batch chats of similar length together: less padding, the same answers.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: dict[int, Generation] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = self._generate_batch(lm, [texts[i] for i in idx], params, adapter)
            out.update(zip(idx, batch, strict=True))
        return [out[i] for i in range(len(chats))]

    def choice_logprobs(
        self, chats: list[list[Message]], options: Sequence[str], adapter: str | None = None
    ) -> list[dict[str, float]]:
        """Per chat, each option's log-probability as the first token of the answer, from the
        logits after the chat template's assistant header (``curate.models.logprobs``)."""
        if not chats:
            return []
        torch = require("torch")

        if self.threads:
            torch.set_num_threads(self.threads)
        lm = load_causal_lm(self.model, device=self.device, dtype=self.dtype)
        tok = lm.tokenizer
        ids = {o: option_token_ids(tok, o) for o in options}
        texts = [
            render_chat(_with_adapter_template(tok, adapter), [m.to_chat() for m in chat], None)
            for chat in chats
        ]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: dict[int, dict[str, float]] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = tok(
                [texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(lm.device)
            with lm.active(adapter) as model, torch.inference_mode():
                # Left padding: the last position is every row's next-token position.
                logits = model(**enc).logits[:, -1, :].float()
            logp = torch.log_softmax(logits, dim=-1)
            for row, i in enumerate(idx):
                out[i] = {o: float(torch.logsumexp(logp[row, ids[o]], dim=0)) for o in options}
        return [out[i] for i in range(len(chats))]

    def _generate_batch(
        self, lm: LoadedLM, texts: list[str], params: SamplingParams, adapter: str | None
    ) -> list[Generation]:
        torch = require("torch")

        tok = lm.tokenizer
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(lm.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "pad_token_id": tok.pad_token_id,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=tok)
        with lm.active(adapter) as model, torch.inference_mode():
            output = model.generate(**enc, **kwargs)
        new_tokens = output[:, enc["input_ids"].shape[1] :]
        eos = _eos_ids(model, tok)
        return [_finish(row.tolist(), tok, eos, params) for row in new_tokens]


def option_token_ids(tok: Any, option: str) -> list[int]:
    """The vocabulary ids that spell ``option`` as one token, with and without a leading space
    (an answer may start either way)."""
    found = []
    for text in (option, " " + option):
        encoded = tok.encode(text, add_special_tokens=False)
        if len(encoded) == 1 and encoded[0] not in found:
            found.append(encoded[0])
    if not found:
        raise InputError(f"the option {option!r} is not a single token of this tokenizer")
    return found


def _eos_ids(model: Any, tok: Any) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return ids


def _finish(tokens: list[int], tok: Any, eos: set[int], params: SamplingParams) -> Generation:
    """Cut one row at its end-of-turn token or stop string and say why it ended."""
    ended = next((i for i, t in enumerate(tokens) if t in eos), None)
    text = tok.decode(tokens[:ended] if ended is not None else tokens, skip_special_tokens=True)
    cut = [text.find(s) for s in params.stop if s in text]
    if cut:
        return Generation(text=text[: min(cut)], finish_reason="stop")
    if ended is not None or len(tokens) < params.max_tokens:
        return Generation(text=text, finish_reason="stop")
    return Generation(text=text, finish_reason="length")


def adapter_chat_template(adapter: str | None) -> str | None:
    """The chat template a tuned adapter was trained with, where its folder has one (``train``
    saves the tokenizer beside the adapter): a tuned model is prompted the way it was tuned."""
    if adapter is None:
        return None
    folder = Path(adapter).expanduser()
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    config = folder / "tokenizer_config.json"
    if config.is_file():
        import json

        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        return template if isinstance(template, str) else None
    return None


def _with_adapter_template(tokenizer: Any, adapter: str | None) -> Any:
    """The tokenizer, rendering with the adapter's own chat template where it differs."""
    template = adapter_chat_template(adapter)
    if template is None or template == tokenizer.chat_template:
        return tokenizer
    import copy

    own = copy.copy(tokenizer)
    own.chat_template = template
    return own
