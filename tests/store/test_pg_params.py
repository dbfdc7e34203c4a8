"""SQLite's parameter marks rewritten for PostgreSQL (pure; no server needed)."""

from __future__ import annotations

import pytest

from bot.store.postgres.params import bind, numbered


def test_question_marks_are_numbered_in_order() -> None:
    assert numbered("SELECT * FROM t WHERE a = ? AND b IN (?, ?)").text == (
        "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"
    )


def test_names_are_numbered_once_each_and_bound_by_name() -> None:
    text, args = bind(
        "SELECT :id, x FROM t WHERE id = :id AND g = :guild LIMIT :limit",
        {"limit": 5, "guild": 7, "id": 3, "unused": 0},
    )
    assert text == "SELECT $1, x FROM t WHERE id = $1 AND g = $2 LIMIT $3"
    assert args == [3, 7, 5]


def test_quoted_text_comments_and_casts_are_left_alone() -> None:
    sql = (
        "SELECT '?', 'it''s :x', \"odd?name\", ?::jsonb, a::text -- what? :no\nFROM t WHERE b = :a"
    )
    with pytest.raises(ValueError, match="mixes"):
        numbered(sql)
    assert numbered(sql.replace(":a", "?")).text == (
        "SELECT '?', 'it''s :x', \"odd?name\", $1::jsonb, a::text -- what? :no\nFROM t WHERE b = $2"
    )


def test_statements_already_numbered_pass_through() -> None:
    assert bind("SELECT $1::text[]", (["a"],)) == ("SELECT $1::text[]", (["a"],))


def test_values_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="named values"):
        bind("SELECT ?", {"a": 1})
    with pytest.raises(ValueError, match="positional values"):
        bind("SELECT :a", (1,))
    with pytest.raises(KeyError):
        bind("SELECT :a", {"b": 1})


def test_escaped_and_dollar_quoted_text_and_block_comments_are_left_alone() -> None:
    sql = "SELECT E'it\\'s ?', $$a ? :b$$, $tag$ ? $tag$, /* it's ? */ ?"
    assert numbered(sql).text == "SELECT E'it\\'s ?', $$a ? :b$$, $tag$ ? $tag$, /* it's ? */ $1"


def test_numbered_marks_keep_their_numbers() -> None:
    statement = numbered("UPDATE t SET a = ?2 WHERE id IN (SELECT x FROM y WHERE z = ?1) OR ?2")
    assert statement.text == "UPDATE t SET a = $2 WHERE id IN (SELECT x FROM y WHERE z = $1) OR $2"
    assert statement.positional == 2


@pytest.mark.parametrize("sql", ["SELECT ?, ?1", "SELECT $1, ?", "SELECT :a, $2"])
def test_mixed_styles_are_refused(sql: str) -> None:
    with pytest.raises(ValueError, match="mixes parameter styles"):
        numbered(sql)
