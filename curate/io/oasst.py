"""OpenAssistant message trees (``message_tree_id`` + a ``prompt`` node with nested ``replies``)
to records: every root-to-leaf path is a conversation, and sibling answers ranked by the
annotators become preference pairs (the best-ranked reply against each lower-ranked one).

Every message field other than its text, role and replies (ids, language, review counts, rank,
labels, emojis …) is kept in the message's ``extra``, so nothing the tree holds is lost.
"""

from __future__ import annotations

from typing import Any

from curate.io.parts import Parts, RowError, check_prompt, clean, type_name
from curate.records import Message

_NODE_KEYS = frozenset({"text", "role", "replies"})


def _node_message(node: Any, where: str) -> Message:
    if not isinstance(node, dict):
        raise RowError("wrong_type", f"{where} is {type_name(node)}, expected a message node")
    role = {"prompter": "user", "assistant": "assistant"}.get(str(node.get("role")))
    if role is None:
        raise RowError("unknown_role", f"{where} has role {node.get('role')!r}")
    text = node.get("text")
    if not isinstance(text, str):
        raise RowError(
            "null_text" if text is None else "wrong_type", f"{where}.text is {type_name(text)}"
        )
    extra = {k: v for k, v in node.items() if k not in _NODE_KEYS and v is not None}
    return Message(role=role, content=clean(text, f"{where}.text"), extra=extra or None)  # type: ignore[arg-type]


def _replies(node: dict[str, Any], where: str) -> list[dict[str, Any]]:
    replies = node.get("replies") or []
    if not isinstance(replies, list):
        raise RowError("wrong_type", f"{where}.replies is {type_name(replies)}, expected a list")
    return replies


def tree_records(row: dict[str, Any]) -> list[Parts]:
    """The records of one message tree: its conversations, then its ranked pairs."""
    conversations: list[Parts] = []
    pairs: list[Parts] = []
    seen: set[str] = set()

    def visit(node: Any, path: list[Message], where: str) -> None:
        message = _node_message(node, where)
        here = [*path, message]
        replies = _replies(node, where)
        if not replies:
            _add_path(here, conversations, seen)
            return
        if message.role == "user":
            _add_pairs(here, replies, where, pairs)
        for i, reply in enumerate(replies):
            visit(reply, here, f"{where}.replies[{i}]")

    visit(row.get("prompt"), [], "prompt")
    return conversations + pairs


def _add_path(path: list[Message], out: list[Parts], seen: set[str]) -> None:
    """A root-to-leaf path: a conversation up to its last answer (SFT), and where the path
    ends with a question nobody answered, the whole path as a prompt (a pool for synthesis)."""
    if path[-1].role == "user":
        out.append(Parts("prompt", check_prompt(path)))
    while path and path[-1].role != "assistant":
        path = path[:-1]
    if not path:
        return
    key = "\x1f".join(str((m.extra or {}).get("message_id", m.content)) for m in path)
    if key in seen:
        return
    seen.add(key)
    out.append(Parts("sft", check_prompt(path[:-1]), completion=path[-1:]))


def _add_pairs(
    prompt: list[Message], replies: list[dict[str, Any]], where: str, out: list[Parts]
) -> None:
    ranked = [
        (r["rank"], i, r)
        for i, r in enumerate(replies)
        if isinstance(r, dict)
        and isinstance(r.get("rank"), int)
        and not isinstance(r.get("rank"), bool)
    ]
    if len(ranked) < 2:
        return
    ranked.sort(key=lambda t: (t[0], t[1]))
    best_rank, best_i, best = ranked[0]
    chosen = [_node_message(best, f"{where}.replies[{best_i}]")]
    for rank, i, other in ranked[1:]:
        if rank == best_rank:
            continue
        rejected = [_node_message(other, f"{where}.replies[{i}]")]
        if chosen[0].content == rejected[0].content:
            continue
        out.append(Parts("preference", check_prompt(prompt), chosen=chosen, rejected=rejected))
