"""Build article files for tests: real Smartable layout, any field overridable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_UNSET: Any = object()


def article_fields(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid article mapping; ``overrides`` replace fields (``None`` removes one)."""
    fields: dict[str, Any] = {
        "category": "news",
        "title": f"Article number {n} about robots",
        "excerpt": f"Excerpt of article {n}: robots learn to read the news.",
        "publishedDateTime": f"2021-01-{(n % 28) + 1:02d}T10:00:00Z",
        "webUrl": f"https://news.example.com/articles/{n}",
        "type": "article",
        "quality": 70,
        "heat": 70,
        "published": False,
        "provider": {"name": "Example News", "domain": "example.com"},
        "topics": ["AI", "Robotics"],
        "images": [{"url": f"https://img.example.com/{n}.jpg", "width": 800, "height": 450}],
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def markdown(fields: dict[str, Any], newline: str = "\n") -> str:
    body = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
    text = f"---\n{body}---\n"
    return text.replace("\n", newline)


def write_article(directory: Path, name: str, n: int = 1, **overrides: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(markdown(article_fields(n, **overrides)), encoding="utf-8")
    return path
