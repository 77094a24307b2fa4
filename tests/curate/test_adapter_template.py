"""A tuned adapter is prompted with the chat template it was trained with (train saves the
tokenizer beside the adapter), not with its base model's."""

from __future__ import annotations

import json
from pathlib import Path

from curate.models.backends.transformers import _with_adapter_template, adapter_chat_template


def test_the_adapter_template_replaces_the_base_one(tmp_path: Path, smollm2_path: str) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_path)
    chat = [{"role": "user", "content": "Hi"}]
    assert adapter_chat_template(None) is None and adapter_chat_template(str(tmp_path)) is None
    own = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}[assistant] "
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": own}))
    tuned = _with_adapter_template(tok, str(tmp_path))
    assert tuned.apply_chat_template(chat, tokenize=False) == "[user] Hi\n[assistant] "
    # the base tokenizer is untouched; an adapter saved with the base's template changes nothing
    assert "[user]" not in tok.apply_chat_template(chat, tokenize=False)
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": tok.chat_template})
    )
    assert _with_adapter_template(tok, str(tmp_path)) is tok
