"""The request-body checks Discord does and discord.py does not, answered as 400 / 50035.

Only the limits a bot is likely to hit are checked (message, embed, component and application
command sizes); the error tree has Discord's ``{"field": {"_errors": [...]}}`` shape, so
discord.py's ``HTTPException`` text names the offending field.
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_NONCE = 25
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_FIELDS = 25
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
MAX_COMMAND_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25


class ErrorTree:
    """Collects Discord-style nested form errors."""

    def __init__(self) -> None:
        self.errors: JSON = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.errors
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.errors)


def _too_long(tree: ErrorTree, path: tuple[str | int, ...], value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        tree.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_text_length(embed: JSON) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def validate_message(body: JSON, *, require_content: bool = True) -> ErrorTree:
    """Check a Create/Edit Message body against Discord's documented limits."""
    tree = ErrorTree()
    _too_long(tree, ("content",), body.get("content"), MAX_CONTENT)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > MAX_NONCE:
        tree.add(("nonce",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_NONCE} or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        tree.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            _too_long(tree, ("embeds", i, key), embed.get(key), limit)
        _too_long(
            tree, ("embeds", i, "footer", "text"), (embed.get("footer") or {}).get("text"), 2048
        )
        _too_long(
            tree, ("embeds", i, "author", "name"), (embed.get("author") or {}).get("name"), 256
        )
        fields = embed.get("fields") or []
        if len(fields) > MAX_FIELDS:
            tree.add(
                ("embeds", i, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, fld in enumerate(fields):
            for key, limit in FIELD_LIMITS.items():
                _too_long(tree, ("embeds", i, "fields", j, key), fld.get(key), limit)
        total += _embed_text_length(embed)
    if total > MAX_EMBED_TOTAL:
        tree.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    _validate_components(tree, body.get("components") or [], body.get("flags") or 0)
    return tree


def is_empty_message(body: JSON) -> bool:
    return not any(
        body.get(key)
        for key in ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
    )


def _validate_components(tree: ErrorTree, components: list[JSON], flags: int) -> None:
    if flags & (1 << 15):  # IS_COMPONENTS_V2: a different layout system, not checked here
        return
    if len(components) > MAX_ROWS:
        tree.add(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    seen: set[str] = set()
    for i, row in enumerate(components):
        items = row.get("components") or []
        if row.get("type") != 1:
            tree.add(
                ("components", i, "type"), "UNION_TYPE_CHOICES", "Value must be an action row."
            )
        if len(items) > MAX_ROW_ITEMS:
            tree.add(
                ("components", i, "components"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_ROW_ITEMS} or fewer in length.",
            )
        for j, item in enumerate(items):
            path: tuple[str | int, ...] = ("components", i, "components", j)
            custom_id = item.get("custom_id")
            _too_long(tree, (*path, "custom_id"), custom_id, MAX_CUSTOM_ID)
            _too_long(tree, (*path, "label"), item.get("label"), MAX_LABEL)
            if custom_id is not None:
                if custom_id in seen:
                    tree.add(
                        (*path, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)


def validate_commands(commands: list[JSON]) -> ErrorTree:
    """Check a bulk-overwrite body of application commands (names, descriptions, counts)."""
    tree = ErrorTree()
    for i, cmd in enumerate(commands):
        _validate_command_node(tree, (i,), cmd, top_level=True)
    return tree


def _validate_command_node(
    tree: ErrorTree, path: tuple[str | int, ...], node: JSON, *, top_level: bool
) -> None:
    name = node.get("name", "")
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        tree.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    kind = node.get("type", 1)
    is_chat_input = not top_level or kind == 1
    if is_chat_input:
        description = node.get("description", "")
        if not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION:
            tree.add(
                (*path, "description"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_COMMAND_DESCRIPTION} in length.",
            )
    options = node.get("options") or []
    if len(options) > MAX_OPTIONS:
        tree.add(
            (*path, "options"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length."
        )
    for j, opt in enumerate(options):
        if len(opt.get("choices") or []) > MAX_CHOICES:
            tree.add(
                (*path, "options", j, "choices"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_CHOICES} or fewer in length.",
            )
        _validate_command_node(tree, (*path, "options", j), opt, top_level=False)


def validate_choices(choices: list[JSON]) -> ErrorTree:
    """Autocomplete results: at most 25 choices, names 1-100 characters, strings up to 100."""
    tree = ErrorTree()
    if len(choices) > MAX_CHOICES:
        tree.add(
            ("data", "choices"),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_CHOICES} or fewer in length.",
        )
    for i, choice in enumerate(choices):
        name = str(choice.get("name", ""))
        if not 1 <= len(name) <= 100:
            tree.add(
                ("data", "choices", i, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            tree.add(
                ("data", "choices", i, "value"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            )
    return tree
