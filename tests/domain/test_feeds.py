"""Feed bodies to articles: every dialect, and hostile bodies that must give a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.feeds import FeedSourceFields, entry_article, first_date, parse_feed
from bot.domain.ingest import InvalidArticleError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss20_with_cdata_html_entities_and_media() -> None:
    doc = parse_feed(_read("rss20.xml"), url="https://ai.example.com/feed.xml")
    assert doc.error is None and doc.dialect == "rss20"
    assert doc.title == "AI Weekly & Friends"
    first = doc.entries[0]
    assert first.guid == "item-1"
    assert first.title == "Robots learn to fold laundry"
    assert first.link == "https://ai.example.com/2026/robots-laundry?utm_source=rss"
    assert first.summary == "Café robots \u2019fold\u2019 shirts.\nSecond paragraph."
    assert "alert" not in (first.summary or "")
    assert first.categories == ("Robotics", "robotics")
    assert first.images == (
        {"url": "https://cdn.example.com/robot.jpg", "width": 640, "height": 360},
    )
    assert first.published == datetime(2026, 12, 1, 10, tzinfo=UTC)
    video = doc.entries[1]
    assert video.video and video.guid == "https://www.youtube.com/watch?v=abc123"
    assert first_date(video) is None

    article = entry_article(first, doc, FeedSourceFields(("AI",), 70), published_at=NOW)
    assert article.url == "https://ai.example.com/2026/robots-laundry"  # canonical: no utm_
    assert article.topics == ("Robotics", "AI")  # duplicates case-insensitively dropped
    assert article.quality == 70 and article.type == "article" and not article.published
    assert article.provider is not None
    assert (article.provider.name, article.provider.domain) == (
        "AI Weekly & Friends",
        "ai.example.com",
    )
    assert article.extra["feedGuid"] == "item-1"
    assert entry_article(video, doc, FeedSourceFields(), published_at=NOW).type == "video"
    for bad in doc.entries[2:]:
        with pytest.raises(InvalidArticleError, match="no http"):
            entry_article(bad, doc, FeedSourceFields(), published_at=NOW)


def test_atom_xhtml_content_and_xml_base() -> None:
    doc = parse_feed(_read("atom.xml"), url="https://blog.example.org/atom.xml")
    assert doc.error is None and doc.dialect == "atom10"
    entry = doc.entries[0]
    assert entry.title == "Models grow up"
    assert entry.link == "https://blog.example.org/news/models-grow-up.html"
    assert entry.summary == "Bigger models."
    assert entry.images == ({"url": "https://blog.example.org/img/model.png"},)
    assert entry.published is None and entry.updated == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert first_date(entry) == entry.updated
    article = entry_article(entry, doc, FeedSourceFields(provider="Blog"), published_at=NOW)
    assert article.provider is not None and article.provider.name == "Blog"


def test_relative_image_urls_resolve_against_the_feed_and_enclosures_count() -> None:
    rss = b"""<rss version='2.0' xmlns:media='http://search.yahoo.com/mrss/'><channel>
    <title>T</title><item><title>A</title><link>https://proxy.example.net/~r/blog/1</link>
    <description>&lt;p&gt;hi &lt;img src="/images/cover.jpg"&gt;&lt;/p&gt;</description></item>
    <item><title>B</title><link>https://proxy.example.net/~r/blog/2</link>
    <media:thumbnail url="/thumb.jpg"/><enclosure url="enc.png" type="image/png"/></item>
    <item><title>C</title><link>https://blog.example.com/3</link>
    <enclosure url="/clip.mp4" length="9" type="video/mp4"/></item>
    </channel></rss>"""
    inline, media, clip = parse_feed(rss, url="https://blog.example.com/feed.xml").entries
    assert not inline.video and not media.video and clip.video  # a video enclosure
    assert inline.images == ({"url": "https://blog.example.com/images/cover.jpg"},)
    assert media.images == (
        {"url": "https://blog.example.com/thumb.jpg"},
        {"url": "https://blog.example.com/enc.png"},
    )
    atom = b"""<feed xmlns='http://www.w3.org/2005/Atom' xml:base='https://blog.example.com/2024/'>
    <title>T</title><entry xml:base='https://cdn.example.org/assets/'><title>A</title><id>x</id>
    <link href='post'/><content type='html'>&lt;img src="img/a.png"&gt; text</content></entry>
    </feed>"""
    [entry] = parse_feed(atom, url="https://blog.example.com/feed.xml").entries
    assert entry.link == "https://cdn.example.org/assets/post"
    assert entry.images == ({"url": "https://cdn.example.org/assets/img/a.png"},)  # xml:base
    json_feed = b"""{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1",
        "url": "https://elsewhere.example.net/p/1", "image": "/i.png"}]}"""
    [item] = parse_feed(json_feed, url="https://json.example.com/feeds/f.json").entries
    assert item.images == ({"url": "https://json.example.com/i.png"},)


def test_a_secret_in_the_feeds_query_never_reaches_a_link() -> None:
    rss = b"""<rss version='2.0'><channel><title>T</title><link>#home</link>
    <item><title>A</title><link>#x</link><guid>g</guid></item>
    <item><title>B</title><link>?page=2</link><guid>h</guid></item></channel></rss>"""
    doc = parse_feed(rss, url="https://x.example/f?key=SECRET")
    assert doc.link == "https://x.example/f#home"
    assert [e.link for e in doc.entries] == ["https://x.example/f#x", "https://x.example/f?page=2"]


def test_titles_lose_their_markup_but_never_their_text() -> None:
    titles = [
        b"Why &lt;div&gt; breaks",  # plain text that mentions a tag
        b"Why &amp;lt;div&amp;gt; breaks",  # the same, written as escaped HTML
        b"<![CDATA[<b>Bold</b> news &amp; more]]>",  # HTML
        b"Fish &amp; Chips",
    ]
    items = b"".join(
        b"<item><title>" + t + b"</title><link>https://x.example/a</link></item>" for t in titles
    )
    rss = b"<rss version='2.0'><channel><title>A &amp; B</title>" + items + b"</channel></rss>"
    doc = parse_feed(rss, url="https://x.example/feed")
    assert doc.title == "A & B"
    assert [e.title for e in doc.entries] == [
        "Why <div> breaks",
        "Why <div> breaks",
        "Bold news & more",
        "Fish & Chips",
    ]


def test_rss10_rdf() -> None:
    doc = parse_feed(_read("rss10.rdf"), url="https://rdf.example.net/rss")
    assert doc.error is None and doc.dialect == "rss10"
    assert [e.title for e in doc.entries] == ["RDF item one"]
    assert first_date(doc.entries[0]) == datetime(2026, 11, 29, 12, tzinfo=UTC)  # dc:date


def test_json_feed() -> None:
    doc = parse_feed(_read("feed.json"), url="https://json.example.com/feed.json")
    assert doc.error is None and doc.dialect == "json1.1"
    a, b, c = doc.entries
    assert (a.guid, a.summary, a.categories) == ("j1", "Hello world", ("Data",))
    assert a.published == datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    assert a.images == ({"url": "https://json.example.com/a.png"},)
    assert (b.guid, b.link, b.summary, b.video) == (
        "2",
        "https://json.example.com/b",
        "Plain text.",
        True,
    )
    assert c.title is None  # a number is not a title: the item is rejected when mapped
    with pytest.raises(InvalidArticleError, match="no http"):
        entry_article(c, doc, FeedSourceFields(), published_at=NOW)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Hi</body></html>", "text/html", "HTML page"),
        (b"", None, "empty"),
        (b"   \n", None, "empty"),
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"version": "x", "items": []}', None, "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', None, "not a list"),
        (b"plain words, nothing else", "text/plain", "no RSS, Atom or JSON Feed"),
    ],
)
def test_bodies_that_are_not_feeds_say_why(
    body: bytes, content_type: str | None, reason: str
) -> None:
    doc = parse_feed(body, url="https://x.example/feed", content_type=content_type)
    assert doc.entries == () and doc.error is not None and reason in doc.error


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rss version="2.0"><channel><title>&d;</title><item><title>&d;</title>
<link>https://x.example/a</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>
<link>https://x.example/a</link><description>&xxe;</description></item></channel></rss>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE])
def test_entity_declarations_are_refused(body: bytes) -> None:
    doc = parse_feed(body, url="https://x.example/feed")
    assert doc.entries == () and doc.error is not None and "entities" in doc.error
    assert "root:" not in repr(doc)


@pytest.mark.parametrize(
    "name", ["declared-latin1-is-utf8.xml", "declared-utf8-is-latin1.xml", "latin1-undeclared.xml"]
)
def test_wrong_and_missing_encodings_are_read_right(name: str) -> None:
    doc = parse_feed(_read(name), url="https://cafe.example.fr/feed")
    assert (doc.error, doc.title) == (None, "Le Café du Matin")
    assert [e.title for e in doc.entries] == ["Crème brûlée à la française"]


def test_a_declared_encoding_the_bytes_cannot_be_is_not_believed() -> None:
    latin1 = "<rss version='2.0'><channel><title>Caf\xe9</title><item><title>Cr\xe8me</title>"
    latin1 += "<link>https://x.example/c</link></item></channel></rss>"
    doc = parse_feed(latin1.encode("latin-1"), url="https://x.example/feed")
    assert (doc.error, doc.title, [e.title for e in doc.entries]) == (None, "Café", ["Crème"])
    lying = b'<?xml version="1.0" encoding="utf-16"?>' + latin1.encode("utf-8")
    doc = parse_feed(lying, url="https://x.example/feed")
    assert (doc.error, doc.title, [e.title for e in doc.entries]) == (None, "Café", ["Crème"])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(body: bytes) -> None:
    doc = parse_feed(body, url="https://x.example/feed")
    assert doc.error is not None or isinstance(doc.entries, tuple)


def test_a_body_naming_a_local_file_is_not_read_as_that_file() -> None:
    local = FEEDS / "rss20.xml"
    doc = parse_feed(str(local).encode(), url="https://x.example/feed")
    assert doc.entries == () and doc.error is not None


@pytest.mark.parametrize(
    "body",
    [
        b"<!-- " + b"x" * 8000 + b" -->" + BILLION_LAUGHS.split(b"?>", 1)[1],
        BILLION_LAUGHS.decode().encode("utf-16"),
    ],
)
def test_entity_declarations_are_found_anywhere(body: bytes) -> None:
    doc = parse_feed(body, url="https://x.example/feed")
    assert doc.entries == () and doc.error is not None and "entities" in doc.error
