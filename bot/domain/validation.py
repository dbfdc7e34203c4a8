"""Strict models and their problems as people read them: ``key.path: problem``.

The settings (from the config file) and a subscription (from the config file or a slash
command) are pydantic models built on :class:`Strict`. :func:`problems` turns a validation
error into one line per problem, every problem at once, with the known keys for a typo.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from bot.domain.text import kind


class Strict(BaseModel):
    """Frozen; no unknown keys; no silent conversions (a value is what its type says, or its
    validator in bot.domain.values turns it into that, or it is a problem)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class At(ValueError):
    """A problem with a key below the one being validated (from a model validator)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def key_of(loc: tuple[str | int, ...], prefix: str = "") -> str:
    out = prefix
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out or "(top level)"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _field_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> FieldInfo | None:
    """The field a location points at (list indexes are stepped over)."""
    current: type[BaseModel] | None = model
    field: FieldInfo | None = None
    for step in loc:
        if isinstance(step, int):
            continue
        if current is None or step not in current.model_fields:
            return None
        field = current.model_fields[step]
        inner = _models_in(field.annotation)
        current = inner[0] if inner else None
    return field


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    if not [s for s in loc if isinstance(s, str)]:
        return model
    field = _field_at(model, loc)
    inner = _models_in(field.annotation) if field is not None else []
    return inner[0] if inner else None


def _bounds(field: FieldInfo | None) -> str | None:
    if field is None:
        return None
    low = high = None
    for item in field.metadata:
        if isinstance(item, Ge | Gt):
            low = item.ge if isinstance(item, Ge) else item.gt
        if isinstance(item, Le | Lt):
            high = item.le if isinstance(item, Le) else item.lt
    if low is not None and high is not None:
        return f"must be from {low} to {high}"
    if low is not None:
        return f"must be at least {low}"
    if high is not None:
        return f"must be at most {high}"
    return None


_EXPECTED = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "dataclass_type": "expected a mapping",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
}


def _message(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind_ = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind_ == "missing":
        field = _field_at(model, loc)
        hint = field.description if field is not None else None
        return f"missing ({hint})" if hint else "missing"
    if kind_ == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = sorted(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown key ({hint}known keys: {', '.join(known)})"
    if kind_ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = _bounds(_field_at(model, loc)) or error["msg"]
        return f"{bounds}, got {value}"
    if kind_ == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"expected one of {expected.replace(' or ', ', ')}, got {kind(value)}"
    if kind_ in _EXPECTED:
        return f"{_EXPECTED[kind_]}, got {kind(value)}"
    if kind_ == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error["msg"])


def problems(error: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """One ``key: problem`` line per problem, in the order of the input."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, At):
            loc += cause.path
        line = f"{key_of(loc, prefix)}: {_message(item, model, loc)}"
        if line not in lines:
            lines.append(line)
    return lines
