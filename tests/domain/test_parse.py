"""The parser: every variant real files show, every way a file can be bad, and a fuzz."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.ingest import Rejection, parse_file
from bot.domain.ingest.yaml_fast import build, compose
from bot.store.rows import article_rows
from tests.conftest import FIXTURES, MALFORMED, SAMPLES
from tests.support.articles import article_fields, markdown

ZOOX = "2020-04-15-us-self-driving-car-startup-zoox-agrees-to-settle-lawsuit-with-tesla.md"


def parse_md(text: str | bytes, *, limit: int = 1 << 20) -> tuple[list, list[Rejection]]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    result = parse_file("news/a.md", data, max_article_bytes=limit)
    return result.articles, result.rejections


def only_rejection(text: str | bytes, **kw: int) -> Rejection:
    articles, rejections = parse_md(text, **kw)
    assert articles == []
    assert len(rejections) == 1, rejections
    assert rejections[0].path == "news/a.md"
    return rejections[0]


# --------------------------------------------------------------------------- real files


def test_every_bundled_sample_parses() -> None:
    files = sorted(SAMPLES.glob("*.md"))
    assert len(files) == 59
    for path in files:
        result = parse_file(str(path), path.read_bytes())
        assert result.rejections == [], path
        (article,) = result.articles
        assert article.published_at.tzinfo is UTC
        assert article.url.startswith("https://")


def test_the_malformed_real_file_is_rejected_with_line_and_column() -> None:
    result = parse_file(str(MALFORMED), MALFORMED.read_bytes())
    assert result.articles == []
    (rejection,) = result.rejections
    assert rejection.line == 5
    assert rejection.column == 35
    assert "invalid YAML" in rejection.error
    assert "never closed" in rejection.error


def test_real_file_with_related_coverage() -> None:
    path = FIXTURES / "articles" / ZOOX
    (article,) = parse_file(str(path), path.read_bytes()).articles
    assert article.title == "U.S. self-driving car startup Zoox agrees to settle lawsuit with Tesla"
    assert article.url == "https://www.reuters.com/article/us-tesla-lawsuit-zoox-idUSKCN21X034"
    assert article.quality == 89 and article.heat == 119 and article.published is True
    assert article.topics == ("AI in Autos", "AI")
    assert article.provider is not None and article.provider.name == "Reuters"
    assert article.provider.icon_url is not None
    assert len(article.related) == 3
    first = article.related[0]
    assert first.title == "Self-driving car startup settles with Tesla over allegedly stolen data"
    assert first.provider_name == "Motor Authority" and first.quality == 39
    assert first.published_at == datetime(2020, 4, 16, 14, 0, tzinfo=UTC)
    # fields Newsdesk does not model are kept
    assert set(article.extra) == {"category", "ampWebUrl", "cdnAmpWebUrl", "secured"}
    assert "ampWebUrl" in article.related[1].data


def test_heat_minus_one_and_quality_above_100_are_kept() -> None:
    (article,), _ = parse_md(markdown(article_fields(heat=-1, quality=189)))
    assert article.heat == -1 and article.quality == 189


def test_missing_quality_stays_missing() -> None:
    (article,), _ = parse_md(markdown(article_fields(quality=None)))
    assert article.quality is None


# --------------------------------------------------------------------------- variants


def test_canonical_url_prefers_web_url_and_normalises() -> None:
    fields = article_fields(
        webUrl="HTTPS://News.Example.COM:443/a/b?id=7&utm_source=feed&utm_medium=rss#top",
        originalUrl="https://origin.example.com/x",
    )
    (article,), _ = parse_md(markdown(fields))
    assert article.url == "https://news.example.com/a/b?id=7"
    assert article.web_url == fields["webUrl"]
    assert article.original_url == "https://origin.example.com/x"


def test_original_url_only() -> None:
    (article,), _ = parse_md(
        markdown(article_fields(webUrl=None, originalUrl="https://youtube.com/watch?v=abc"))
    )
    assert article.url == "https://youtube.com/watch?v=abc"
    assert article.web_url is None


def test_video_with_featured_content() -> None:
    iframe = '<iframe src="https://www.youtube.com/embed/qwoVBh49Db8"></iframe>'
    (article,), _ = parse_md(markdown(article_fields(type="video", featuredContent=iframe)))
    assert article.type == "video"
    assert article.featured_content == iframe


def test_optional_parts_may_be_absent() -> None:
    fields = article_fields(images=None, related=None, provider={"name": "Solo"}, topics=None)
    (article,), _ = parse_md(markdown(fields))
    assert article.images == () and article.related == () and article.topics == ()
    assert article.provider is not None and article.provider.icon_url is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2020-04-15T03:45:00Z", datetime(2020, 4, 15, 3, 45, tzinfo=UTC)),
        ("2020-04-15T05:45:00+02:00", datetime(2020, 4, 15, 3, 45, tzinfo=UTC)),
        ("2020-04-15 03:45:00", datetime(2020, 4, 15, 3, 45, tzinfo=UTC)),
        ("2020-04-15", datetime(2020, 4, 15, tzinfo=UTC)),
        ('"2020-04-15T05:45:00+02:00"', datetime(2020, 4, 15, 3, 45, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(written: str, expected: datetime) -> None:
    text = markdown(article_fields(publishedDateTime="PLACEHOLDER")).replace(
        "publishedDateTime: PLACEHOLDER", f"publishedDateTime: {written}"
    )
    (article,), rejections = parse_md(text)
    assert rejections == []
    assert article.published_at == expected
    assert article.published_at.tzinfo is UTC


def test_crlf_line_endings() -> None:
    (article,), rejections = parse_md(markdown(article_fields(), newline="\r\n"))
    assert rejections == []
    assert article.title == "Article number 1 about robots"


def test_utf8_bom_is_accepted() -> None:
    (article,), _ = parse_md(b"\xef\xbb\xbf" + markdown(article_fields()).encode())
    assert article.title.startswith("Article")


def test_topics_are_deduplicated_case_insensitively_keeping_the_first_spelling() -> None:
    (article,), _ = parse_md(markdown(article_fields(topics=["AI", "ai", " Computer  Vision "])))
    assert article.topics == ("AI", "Computer Vision")


def test_markdown_body_is_kept() -> None:
    text = markdown(article_fields()) + "\n# Heading\n\nSome *markdown* body.\n"
    (article,), _ = parse_md(text)
    assert article.body == "\n# Heading\n\nSome *markdown* body.\n"


def test_related_items_are_lenient_but_kept_whole() -> None:
    related = [
        {"title": "No URL here", "excerpt": "x"},
        {"title": "Bad URL", "webUrl": "javascript:alert(1)"},
        {"webUrl": "https://other.example.com/story?utm_campaign=x", "quality": "high"},
    ]
    (article,), _ = parse_md(markdown(article_fields(related=related)))
    assert [r.url for r in article.related] == [None, None, "https://other.example.com/story"]
    assert article.related[2].quality is None  # not a number: not used, but kept in data
    assert article.related[2].data["quality"] == "high"
    assert article.related[1].data["webUrl"] == "javascript:alert(1)"


def test_yaml_list_file_items_stand_alone() -> None:
    good1 = article_fields(1)
    bad = article_fields(2, title=None)
    good2 = article_fields(3)
    text = yaml_dump([good1, bad, good2])
    result = parse_file("export.yaml", text.encode())
    assert [a.title for a in result.articles] == [good1["title"], good2["title"]]
    (rejection,) = result.rejections
    assert rejection.item == 2
    assert rejection.error == "title: missing or empty"
    assert rejection.line == text.splitlines().index("- category: news", 1) + 1


def test_yaml_stream_one_broken_document_spoils_only_itself() -> None:
    docs = [yaml_dump(article_fields(n)) for n in (1, 2, 3)]
    docs[1] = docs[1].replace("quality: 70", "quality: 12: 34")
    text = "".join(f"---\n{d}" for d in docs)
    result = parse_file("stream.yml", text.encode())
    assert len(result.articles) == 2
    (rejection,) = result.rejections
    assert rejection.item == 2
    assert "invalid YAML" in rejection.error
    assert text.splitlines()[rejection.line - 1].startswith("quality: 12: 34")


def test_json_export_file() -> None:
    items = [article_fields(1), {"title": "no url"}, article_fields(3)]
    text = json.dumps(items, indent=2)
    result = parse_file("export.json", text.encode())
    assert len(result.articles) == 2
    (rejection,) = result.rejections
    assert rejection.item == 2 and rejection.line is not None
    assert "missing URL" in rejection.error


def yaml_dump(data: object) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


# --------------------------------------------------------------------------- bad input


def test_empty_file() -> None:
    assert only_rejection("").error == "file is empty"
    assert only_rejection("\n\n  \n").error == "file is empty"


def test_no_front_matter() -> None:
    rejection = only_rejection("# Just markdown\n\nNo front matter.\n")
    assert "no YAML front matter" in rejection.error
    assert (rejection.line, rejection.column) == (1, 1)


def test_unclosed_front_matter_names_the_opening_line() -> None:
    text = markdown(article_fields()).rstrip("-\n") + "\n"
    rejection = only_rejection(text)
    assert "never closed" in rejection.error
    assert rejection.line == 1


def test_empty_front_matter() -> None:
    rejection = only_rejection("---\n---\n")
    assert rejection.error == "front matter is empty"


@pytest.mark.parametrize(
    "front", ["- just\n- a\n- list\n", "just a scalar string\n"], ids=["list", "scalar"]
)
def test_front_matter_must_be_a_mapping(front: str) -> None:
    rejection = only_rejection(f"---\n{front}---\n")
    assert "expected a mapping of article fields" in rejection.error
    assert rejection.line == 2


def test_yaml_syntax_error_has_line_and_column() -> None:
    text = markdown(article_fields()).replace("title: Article", 'title: "Article')
    rejection = only_rejection(text)
    assert rejection.error.startswith("invalid YAML")
    assert rejection.line is not None and rejection.column is not None


def test_missing_title() -> None:
    rejection = only_rejection(markdown(article_fields(title=None)))
    assert rejection.error == "title: missing or empty"


def test_blank_title() -> None:
    assert only_rejection(markdown(article_fields(title="   "))).error == (
        "title: missing or empty"
    )


def test_missing_url() -> None:
    rejection = only_rejection(markdown(article_fields(webUrl=None)))
    assert rejection.error == "missing URL: the article has neither webUrl nor originalUrl"


def test_missing_published_date_time() -> None:
    rejection = only_rejection(markdown(article_fields(publishedDateTime=None)))
    assert rejection.error == "publishedDateTime: missing"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quality", "very high", "quality: expected a number, got text 'very high'"),
        ("quality", True, "quality: expected a number, got the boolean true"),
        ("heat", [1], "heat: expected a number, got a list"),
        ("topics", "AI, Cloud", "topics: expected a list of topic names, got text 'AI, Cloud'"),
        ("topics", ["AI", None], "topics[2]: expected a topic name, got nothing"),
        ("publishedDateTime", "yesterday", "publishedDateTime: expected a date and time"),
        ("title", [1, 2, 3], "title: expected text, got a list"),
        ("provider", 42, "provider: expected a mapping with name and domain, got the number 42"),
        ("images", "pic.jpg", "images: expected a list, got text 'pic.jpg'"),
        ("images", ["pic.jpg"], "images[1]: expected a mapping"),
        ("related", {"a": 1}, "related: expected a list, got a mapping"),
        ("published", "yes please", "published: expected true or false"),
        ("webUrl", "not-a-url", "webUrl: not an http(s) URL"),
        ("webUrl", "https://ex.com/a b", "webUrl: URL contains whitespace"),
        ("webUrl", "ftp://example.com/x", "webUrl: not an http(s) URL"),
        ("webUrl", 12, "webUrl: expected a URL, got the number 12"),
        ("type", ["video"], "type: expected text such as 'article' or 'video'"),
        *(
            ("newsdeskServers", value, "newsdeskServers: expected a list of Discord server ids")
            for value in ("111", [111, -2], [True], [1 << 63], ["\uff11\uff12"], [{"id": 1}])
        ),
    ],
)
def test_wrong_types_name_the_field_and_its_line(field: str, value: object, message: str) -> None:
    text = markdown(article_fields(**{field: value}))
    rejection = only_rejection(text)
    assert rejection.error.startswith(message), rejection.error
    assert rejection.line is not None
    line = text.splitlines()[rejection.line - 1].lstrip()
    if "[" in message.split(":")[0]:  # an item of a list: its own line, below the field
        assert line.startswith("- ")
        above = text.splitlines()[: rejection.line - 1]
        assert next(ln for ln in reversed(above) if not ln.startswith("- ")).startswith(field)
    else:
        assert line.startswith(field)


def test_an_exports_servers_are_read_as_sorted_unique_ids() -> None:
    [article], _ = parse_md(markdown(article_fields(newsdeskServers=["222", 111, 222])))
    assert article.servers == (111, 222)
    assert "newsdeskServers" not in article.extra
    assert article_rows(article).servers == (111, 222)
    [everyone], _ = parse_md(markdown(article_fields()))
    assert everyone.servers is None


def test_not_utf8_names_line_and_column() -> None:
    data = markdown(article_fields()).encode().replace(b"title: Article", b"title: Caf\xe9")
    rejection = only_rejection(data)
    assert rejection.error.startswith("not UTF-8: byte 0xe9")
    assert (rejection.line, rejection.column) == (3, 11)


def test_nul_byte_is_rejected() -> None:
    rejection = only_rejection(markdown(article_fields()).replace("robots", "ro\x00bots", 1))
    assert "NUL" in rejection.error


def test_too_large() -> None:
    text = markdown(article_fields(excerpt="x" * 5000))
    rejection = only_rejection(text, limit=4096)
    assert rejection.error.startswith("file is too large")
    assert "ingest.max_article_bytes" in rejection.error


def test_too_large_item_in_a_yaml_list() -> None:
    text = yaml_dump([article_fields(1), article_fields(2, excerpt="x" * 5000)])
    result = parse_file("list.yaml", text.encode(), max_article_bytes=4096)
    assert len(result.articles) == 1
    (rejection,) = result.rejections
    assert rejection.item == 2 and rejection.error.startswith("article is too large")


def test_duplicate_field_is_rejected() -> None:
    text = markdown(article_fields()).replace("type: article", "type: article\ntitle: Again")
    rejection = only_rejection(text)
    assert rejection.error.startswith("duplicate field 'title' (first at line 3)")


def test_aliases_are_refused_before_anything_is_built() -> None:
    bomb = (
        "---\n"
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "title: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
        "---\n"
    )
    rejection = only_rejection(bomb)
    assert rejection.error == "YAML aliases are not allowed (*a)"
    assert (rejection.line, rejection.column) == (3, 8)


def test_merge_keys_need_aliases_and_are_refused_too() -> None:
    text = markdown(article_fields()).replace("type: article", "base: &b {x: 1}\nmore:\n  <<: *b")
    assert "aliases are not allowed" in only_rejection(text).error


def test_deep_nesting_is_rejected_not_crashing() -> None:
    text = markdown(article_fields()).replace("type: article", "type: " + "[" * 5000 + "]" * 5000)
    assert only_rejection(text).error.startswith("invalid YAML")


def test_unsupported_suffix() -> None:
    result = parse_file("notes.txt", b"hello")
    assert "unsupported file type '.txt'" in result.rejections[0].error


# --------------------------------------------------------------------------- fuzz

_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.text())),
        "webUrl": st.one_of(st.text(max_size=40), st.just("https://ex.com/a"), st.integers()),
        "originalUrl": st.one_of(st.text(max_size=40), st.just("http://EX.com/b#x")),
        "publishedDateTime": st.one_of(st.datetimes(), st.text(max_size=30), st.dates()),
        "quality": st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans()),
        "heat": st.one_of(st.integers(), st.none()),
        "topics": st.one_of(st.lists(st.one_of(st.text(max_size=20), st.integers())), st.text()),
        "published": st.one_of(st.booleans(), st.text(max_size=5)),
        "provider": st.one_of(
            st.dictionaries(st.sampled_from(["name", "domain", "images"]), st.text(max_size=10)),
            st.integers(),
        ),
        "related": st.one_of(
            st.lists(st.dictionaries(st.sampled_from(["title", "webUrl", "quality"]), st.text())),
            st.text(),
        ),
        "extra": st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=8,
        ),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fields)
def test_fuzz_structured_fields_never_raise(fields: dict) -> None:
    import yaml

    text = "---\n" + yaml.safe_dump(fields, allow_unicode=True) + "---\n"
    result = parse_file("f.md", text.encode("utf-8"))
    assert len(result.articles) + len(result.rejections) == 1
    for article in result.articles:
        assert article.title and article.url.startswith(("http://", "https://"))
        assert article.published_at.tzinfo is UTC
        article_rows(article)  # every accepted article can be stored
    for rejection in result.rejections:
        assert rejection.error and rejection.path == "f.md"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["x.md", "x.yaml", "x.json"]))
def test_fuzz_arbitrary_bytes_never_raise(data: bytes, name: str) -> None:
    result = parse_file(name, b"---\n" + data if name.endswith(".md") else data)
    for rejection in result.rejections:
        assert rejection.error


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fuzz_arbitrary_front_matter_text_never_raises(text: str) -> None:
    result = parse_file("x.md", f"---\n{text}\n---\n".encode())
    assert len(result.articles) + len(result.rejections) >= 1


_yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.datetimes(),
        st.dates(),
        st.sampled_from(["012", "0x1F", "1_000", "+7", "-0", "yes", "Off", "~", ".inf", "3:25"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_yaml_values, st.sampled_from([None, "'", '"']))
def test_fast_builder_equals_safe_constructor(value: object, style: str | None) -> None:
    """build takes shortcuts for common tags; it must agree with PyYAML's SafeConstructor."""
    import yaml
    from yaml.constructor import SafeConstructor

    text = yaml.safe_dump({"v": value}, default_style=style, allow_unicode=True)
    node = compose(text)
    assert node is not None
    fast = build(node)
    safe = SafeConstructor().construct_document(node)
    assert fast == safe
    assert repr(fast) == repr(safe)  # same types too (1 vs 1.0 vs True)


def test_fast_builder_on_plain_scalars_of_every_kind() -> None:
    from yaml.constructor import SafeConstructor

    text = (
        "v: [012, 0x1F, 0b101, 1_000, +7, -0, 0, 190:20:30, yes, Off, TRUE, ~, null, .inf, -.Inf,"
        " .nan, 1.5e3, 2020-01-01, 2020-01-01 10:00:00+02:00, !!binary aGVsbG8=, '012', plain]\n"
        "w: !!set {a, b}\n"
        "x: {<<: {a: 1}, b: 2}\n"
    )
    node = compose(text)
    assert node is not None
    fast, safe = build(node), SafeConstructor().construct_document(node)
    assert repr(fast) == repr(safe)


def test_numbers_beyond_what_sqlite_stores_are_rejected_or_dropped() -> None:
    rejection = only_rejection(markdown(article_fields(quality=10**20)))
    assert rejection.error == f"quality: {10**20} is out of range"
    related = [{"title": "r", "webUrl": "https://r.example/1", "quality": 10**30}]
    (article,), _ = parse_md(markdown(article_fields(related=related)))
    assert article.related[0].quality is None  # not used; still kept in the item's data
    assert article.related[0].data["quality"] == 10**30


def test_a_date_that_overflows_rejects_only_its_own_item() -> None:
    text = yaml_dump(
        [article_fields(1, publishedDateTime="0001-01-01T00:00:00+05:00"), article_fields(2)]
    )
    result = parse_file("list.yaml", text.encode())
    assert len(result.articles) == 1
    (rejection,) = result.rejections
    assert rejection.item == 1
    assert rejection.error.startswith("publishedDateTime: expected a date and time")


def test_escaped_lone_surrogates_are_rejected() -> None:
    text = json.dumps([article_fields(1, title="bad \ud800 title"), article_fields(2)])
    result = parse_file("export.json", text.encode())
    assert len(result.articles) == 1
    assert "lone surrogate" in result.rejections[0].error
