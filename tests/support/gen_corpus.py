#!/usr/bin/env python3
"""Generate a synthetic corpus of Smartable-style news article files.

Each file is ``YYYY-MM-DD-slug.md`` and holds only YAML front matter::

    ---
    category: news
    title: "..."
    excerpt: "..."
    publishedDateTime: 2020-06-09T06:31:00Z
    originalUrl: "..."
    webUrl: "..."
    type: article
    quality: 89
    heat: 89
    published: true

    provider:
      name: The Next Web
      domain: thenextweb.com
      ...
    topics:
      - AI
    images:
      - url: "..."
    related:
      - title: "..."
    secured: "..."
    ---

The layout, key order, quoting style and value distributions follow real
Smartable feeds (for example SmartableAI/microsoft-power-apps, ``_news/``).
The output is fully determined by the arguments (``--seed`` in particular):
the same command writes byte-identical files every time (checked on
CPython 3.11; nothing depends on hash order, the clock or the platform).

What the corpus contains, on purpose:

* ~220 topics drawn with a Zipf distribution (1-4 per article), ~300
  providers (also Zipf), quality/heat distributed like a real feed.
* 0-8 ``related`` items per article; about a third of them point at other
  articles of the corpus, so "related coverage" look-ups find something.
* Some files with ``originalUrl`` only, some with ``webUrl`` only; videos
  (``type: video``) with ``featuredContent`` (an escaped iframe).
* Unicode titles (accents, curly quotes, emoji, CJK, Arabic), titles with
  YAML-special characters, about 1% of excerpts longer than 4096 characters
  (Discord's embed description limit).
* About 30% of files with CRLF line endings (as in the real feed).
* Duplicates: a few files re-publish an earlier article's URL with an
  updated quality/heat (and sometimes a retouched title). The canonical URL
  of an article is ``webUrl`` when present, else ``originalUrl``.
* With ``--bad K``: K malformed files (see BAD_KINDS), named like ordinary
  article files so an ingester cannot spot them by name.

``--manifest PATH`` writes a JSON summary that tests can assert on: counts,
``unique_urls`` (= ``n_good - duplicate_files``), every well-formed file whose
URL an earlier file (in writing order) already had, with ``first_file`` and a
``reason`` ("republished": a deliberate update; "url_collision": two generated
articles happened to get the same URL), and every malformed file with its
kind. Files are written in generation order, so modification times follow it.

Needs Python 3.9+ and only the standard library; PyYAML is used solely by
``--verify``, which re-parses every well-formed file as a self-check.

Usage::

    python gen_corpus.py OUT_DIR -n 10000 --seed 1 --bad 20 --manifest m.json

The module can also be imported: ``iter_articles(n, seed)`` yields article
dicts (as ``yaml.safe_load`` would return them, except that datetimes are
naive UTC, plus a few ``_`` keys) and ``render(article)`` turns one into file
text, without touching the disk.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import copy
import datetime as dt
import itertools
import json
import os
import random
import re
import sys
import unicodedata
from collections import deque
from collections.abc import Iterator

try:  # PyYAML is needed only for --verify.
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

__all__ = [
    "BAD_KINDS",
    "PROVIDERS",
    "TOPICS",
    "canonical_url",
    "iter_articles",
    "main",
    "render",
    "write_corpus",
]

# --------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------

_TOPICS_TEXT = """
AI; Machine Learning; Deep Learning; Computer Vision; Natural Language Processing;
Generative AI; Large Language Models; ChatGPT; OpenAI; AI Ethics; AI Regulation;
Reinforcement Learning; Neural Networks; Data Science; Big Data; Analytics;
Business Intelligence; Power BI; Power Apps; Power Automate; Low-code; No-code;
Microsoft; Azure; Microsoft 365; Teams integration; Dynamics 365; Windows; Windows 11;
Xbox; Bing; GitHub; GitHub Copilot; Visual Studio Code; .NET; C#; TypeScript;
JavaScript; Python; Rust; Go; Java; Kotlin; Swift; C++; WebAssembly; Node.js; React;
Angular; Vue.js; Django; Flask; Kubernetes; Docker; Containers; Serverless;
Cloud Computing; Multicloud; Hybrid Cloud; Edge Computing; AWS; Amazon; Google Cloud;
Google; Alphabet; Android; Chrome; Apple; iPhone; iPad; macOS; iOS; Apple Watch;
Vision Pro; Meta; Facebook; Instagram; WhatsApp; Threads; Twitter; TikTok;
YouTube; Netflix; Spotify; Streaming; Social Media; Cybersecurity; Ransomware;
Phishing; Zero Trust; Data Breach; Privacy; GDPR; Encryption; Identity Management;
Passwordless; Vulnerabilities; Malware; Cyber Warfare; DevOps; DevSecOps; CI/CD;
Observability; Site Reliability Engineering; Open Source; Linux; Ubuntu; Red Hat;
Databases; PostgreSQL; MySQL; MongoDB; SQLite; Redis; Data Engineering;
Data Warehousing; Snowflake; Databricks; Apache Spark; Kafka; ETL; APIs; GraphQL;
Microservices; Software Architecture; Programming; Developer Tools; Testing;
Quantum Computing; Semiconductors; Chips; Nvidia; Intel; AMD; Qualcomm; Arm;
TSMC; GPUs; Supercomputers; Robotics; Drones; Autonomous Vehicles; Self-driving Cars;
Electric Vehicles; Tesla; Batteries; Renewable Energy; Solar Power; Climate Tech;
Space; SpaceX; NASA; Satellites; 5G; 6G; Telecom; Wi-Fi; Internet of Things;
Smart Home; Wearables; Virtual Reality; Augmented Reality; Metaverse; Gaming;
Esports; Blockchain; Bitcoin; Ethereum; Cryptocurrency; NFTs; Web3; Fintech;
Payments; Banking; Insurtech; E-commerce; Retail; Supply Chain; Logistics;
Healthcare; Digital Health; Biotech; Genomics; Drug Discovery; Medical Imaging;
Telemedicine; Education; EdTech; Remote Work; Hybrid Work; Future of Work;
Startups; Venture Capital; IPOs; Mergers and Acquisitions; Layoffs; Antitrust;
Regulation; Policy; Elections; Misinformation; Accessibility; Sustainability;
Smart Cities; Agriculture Tech; Manufacturing; Industry 4.0; Digital Twins;
Chatbots; Virtual Assistants; Speech Recognition; Facial Recognition;
Recommendation Systems; AutoML; MLOps; Edge AI; TinyML; Künstliche Intelligenz;
Inteligencia Artificial; 人工智能; 機械学習
"""

TOPICS: list[str] = [t.strip() for t in _TOPICS_TEXT.replace("\n", " ").split(";")
                     if t.strip()]

_REAL_PROVIDERS = [
    ("Microsoft", "microsoft.com"), ("The Next Web", "thenextweb.com"),
    ("TechCrunch", "techcrunch.com"), ("VentureBeat", "venturebeat.com"),
    ("Business Insider", "businessinsider.com"), ("Mashable", "mashable.com"),
    ("SFGate", "sfgate.com"), ("Charlotte Observer", "charlotteobserver.com"),
    ("The Verge", "theverge.com"), ("Wired", "wired.com"),
    ("Ars Technica", "arstechnica.com"), ("Engadget", "engadget.com"),
    ("ZDNet", "zdnet.com"), ("CNET", "cnet.com"), ("Forbes", "forbes.com"),
    ("Reuters", "reuters.com"), ("Bloomberg", "bloomberg.com"),
    ("The New York Times", "nytimes.com"), ("The Guardian", "theguardian.com"),
    ("BBC News", "bbc.co.uk"), ("CNBC", "cnbc.com"), ("Fortune", "fortune.com"),
    ("MIT Technology Review", "technologyreview.com"), ("GeekWire", "geekwire.com"),
    ("Neowin", "neowin.net"), ("On MSFT", "onmsft.com"),
    ("Digital Journal", "digitaljournal.com"), ("Electronic Design", "electronicdesign.com"),
    ("Virtualization Review", "virtualizationreview.com"), ("winbuzzer.com", "winbuzzer.com"),
    ("For Construction Pros", "forconstructionpros.com"),
    ("encorebusiness.com", "encorebusiness.com"), ("InfoWorld", "infoworld.com"),
    ("Computerworld", "computerworld.com"), ("The Register", "theregister.com"),
    ("Heise Online", "heise.de"), ("Le Monde Informatique", "lemondeinformatique.fr"),
    ("9to5Mac", "9to5mac.com"), ("9to5Google", "9to5google.com"),
    ("Android Authority", "androidauthority.com"), ("MacRumors", "macrumors.com"),
    ("Tom's Hardware", "tomshardware.com"), ("AnandTech", "anandtech.com"),
    ("PCWorld", "pcworld.com"), ("Windows Central", "windowscentral.com"),
    ("Dev.to", "dev.to"), ("Medium", "medium.com"), ("Towards Data Science", "towardsdatascience.com"),
    ("Hacker Noon", "hackernoon.com"), ("InfoQ", "infoq.com"), ("The New Stack", "thenewstack.io"),
    ("SiliconANGLE", "siliconangle.com"), ("Axios", "axios.com"), ("Protocol", "protocol.com"),
    ("Fast Company", "fastcompany.com"), ("Quartz", "qz.com"), ("Yahoo Finance", "finance.yahoo.com"),
    ("AT&T Newsroom", "att.com"), ("日経クロステック", "xtech.nikkei.com"),
    ("36氪", "36kr.com"), ("YouTube", "youtube.com"),
]

_PROVIDER_PREFIXES = ["Daily", "Global", "Digital", "Cloud", "Data", "Future", "Silicon",
                      "Byte", "Tech", "Code", "Signal", "Pixel", "Quantum", "Metro",
                      "Northern", "Pacific", "Atlantic", "Open", "Smart", "Modern"]
_PROVIDER_SUFFIXES = ["Wire", "Times", "Journal", "Insider", "Report", "Review", "Post",
                      "Gazette", "Beat", "Hub", "Chronicle", "Digest", "Ledger", "Herald",
                      "Monitor"]
_TLDS = [".com", ".com", ".com", ".net", ".io", ".co.uk", ".de", ".org", ".news"]


def _build_providers(count: int = 300) -> list[tuple[str, str]]:
    out = list(_REAL_PROVIDERS)
    seen = {n for n, _ in out}
    rng = random.Random(12345)  # fixed: the provider list never depends on --seed
    pairs = [f"{p} {s}" for p in _PROVIDER_PREFIXES for s in _PROVIDER_SUFFIXES]
    rng.shuffle(pairs)
    for name in pairs:
        if len(out) >= count:
            break
        if name in seen:
            continue
        seen.add(name)
        domain = name.lower().replace(" ", "") + rng.choice(_TLDS)
        out.append((name, domain))
    return out


PROVIDERS: list[tuple[str, str]] = _build_providers()

_COMPANIES = ["Microsoft", "Google", "Apple", "Amazon", "Meta", "IBM", "Nvidia", "Intel",
              "OpenAI", "Anthropic", "Salesforce", "Oracle", "SAP", "Adobe", "Netflix",
              "Tesla", "SpaceX", "Samsung", "Sony", "Huawei", "Baidu", "Alibaba", "Tencent",
              "ByteDance", "Uber", "Airbnb", "Stripe", "Shopify", "Zoom", "Slack", "Atlassian",
              "GitHub", "GitLab", "Red Hat", "Canonical", "Cisco", "Dell", "HP", "Lenovo",
              "Qualcomm", "Arm", "TSMC", "AMD", "Databricks", "Snowflake", "Cloudflare",
              "Okta", "CrowdStrike", "Palo Alto Networks", "Mozilla", "Wikipedia", "NASA",
              "the EU", "the FTC", "Congress", "a startup", "researchers", "Siemens",
              "Bosch", "Volkswagen"]
_VERBS = ["launches", "announces", "unveils", "acquires", "invests in", "expands",
          "rolls out", "open-sources", "delays", "cancels", "bets big on", "warns about",
          "drops support for", "doubles down on", "partners with", "sues", "previews",
          "brings", "tests", "teases", "revamps", "cuts prices of", "raises $%d million for"]
_NOUNS = ["platform", "service", "features", "tools", "toolkit", "model", "chip", "app",
          "update", "API", "framework", "preview", "beta", "roadmap", "marketplace",
          "program", "initiative", "lab", "benchmark", "dataset", "SDK", "assistant"]
_SUFFIXES = ["", "", "", "", " amid growing competition", ": what you need to know",
             " — report", " (updated)", " in %d", " for developers", " for enterprises",
             " ahead of earnings", ", sources say", " after backlash"]
_EMOJI = ["🚀", "🔥", "🤖", "💡", "📈", "⚡", "🧠", "🎉", "👀", "✅", "🛰️", "🔒"]
_UNICODE_TITLES = [
    "微软发布新的人工智能平台", "谷歌推出新一代云计算服务", "人工知能の最新動向と今後の展望",
    "クラウドセキュリティの新しいベストプラクティス", "클라우드 보안 업데이트 발표",
    "삼성, 새로운 AI 칩 공개", "الذكاء الاصطناعي يغير مستقبل العمل",
    "Künstliche Intelligenz: Was Unternehmen jetzt wissen müssen",
    "L’intelligence artificielle au service des développeurs",
    "Inteligência artificial: o que muda em %d", "Новая платформа для разработчиков",
]
_CONNECTORS = ["The company said", "According to the announcement,", "Analysts expect",
               "The move comes as", "In a blog post,", "Critics argue that",
               "Developers will be able to", "The update means", "Early testers report that",
               "It is not yet clear whether"]

_COMMON_WORDS = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they", "you", "were", "her", "she", "there", "been", "one", "all", "we", "their", "has", "would", "more", "when", "if", "will", "about", "up", "out", "who", "them", "what", "can", "into", "only", "new", "other", "some", "could", "time", "these", "two", "may", "then", "do", "first", "any", "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made", "after", "also", "did", "many", "before", "must", "through", "back", "years", "where", "much", "your", "way", "well", "down", "should", "because", "each", "just", "those", "people", "how", "too", "little", "state", "good", "very", "make", "world", "still", "own", "see", "men", "work", "long", "get", "here", "between", "both", "life", "being", "under", "never", "day", "same", "another", "know", "while", "last", "might", "us", "great", "old", "year", "off", "come", "since", "against", "go", "came", "right", "used", "take", "three", "company", "companies", "users", "customers", "data", "cloud", "software", "developers", "platform", "service", "services", "security", "model", "models", "open", "source", "market", "billion", "million", "percent", "support", "release", "version", "features", "feature", "product", "products", "team", "teams", "business", "enterprise", "apps", "app", "application", "applications", "code", "language", "languages", "system", "systems", "network", "networks", "device", "devices", "chip", "chips", "server", "servers", "storage", "performance", "research", "researchers", "study", "report", "quarter", "revenue", "growth", "launch", "launched", "announced", "available", "preview", "generally", "availability", "partners", "partnership", "customers", "pricing", "free", "plan", "plans", "update", "updates", "change", "changes", "policy", "government", "regulators", "privacy", "risk", "risks", "attack", "attacks", "vulnerability", "patch", "patches", "breach", "hackers", "researchers", "training", "inference", "accuracy", "benchmark", "dataset", "datasets", "neural", "learning", "intelligence", "automation", "workflow", "workflows", "integration", "integrations", "dashboard", "analytics", "insights", "energy", "battery", "batteries", "vehicle", "vehicles", "autonomous", "robot", "robots", "space", "satellite", "mobile", "phone", "phones", "tablet", "laptop", "desktop", "browser", "search", "social", "video", "videos", "stream"]

_SYLLABLES = ["ka", "zo", "ri", "ven", "tor", "lux", "qua", "mi", "dex", "nor", "fi",
              "bra", "zen", "tal", "or", "ix", "em", "sa", "vo", "gri", "pla", "cy", "ro",
              "nu", "phe", "jax", "kel", "wyn", "dra", "ost"]

# Empirical quality distribution of a real Smartable feed (value: count).
_REAL_QUALITY = {
    11: 1, 17: 4, 28: 1, 29: 2, 30: 1, 31: 1, 37: 16, 42: 1, 46: 1, 48: 1, 53: 1,
    54: 3, 56: 1, 57: 2, 59: 1, 60: 1, 61: 2, 62: 2, 63: 6, 64: 1, 65: 4, 66: 2,
    67: 1, 68: 3, 69: 1, 70: 1, 71: 7, 72: 43, 73: 1, 75: 1, 76: 2, 77: 2, 78: 1,
    80: 1, 81: 2, 82: 1, 83: 1, 85: 2, 86: 2, 87: 18, 88: 1, 89: 9, 93: 1, 96: 2,
    97: 2, 98: 2, 100: 1, 101: 1, 102: 1, 104: 11, 106: 1, 108: 1, 122: 3, 136: 1,
    137: 3, 139: 2, 148: 1, 154: 3, 189: 1,
}

BAD_KINDS = ["broken_yaml", "missing_title", "missing_url", "wrong_types", "non_utf8",
             "empty", "no_closing", "not_mapping", "no_front_matter"]

_YAML11_SPECIAL = {"yes", "no", "on", "off", "true", "false", "y", "n", "null", "~", ""}
_PLAIN_RE = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF][^:#\"'\n\r\t{}\[\],&*!|>%@`]*")


class _Cum:
    """Weighted sampler over a fixed population (cumulative weights + bisect)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]

    def pick_distinct(self, rng: random.Random, k: int) -> list:
        out: list = []
        while len(out) < k:
            x = self.pick(rng)
            if x not in out:
                out.append(x)
        return out


def _zipf(items, s: float) -> _Cum:
    return _Cum(items, [1.0 / (i + 1) ** s for i in range(len(items))])


# --------------------------------------------------------------------------
# YAML emission (matches the real feeds' style)
# --------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]')
_ESCAPES = {'"': r'\"', "\\": r"\\", "\n": r"\n", "\t": r"\t"}


def _escape_char(m: re.Match) -> str:
    ch = m.group()
    esc = _ESCAPES.get(ch)
    if esc is None:
        o = ord(ch)
        esc = "\\x%02x" % o if o <= 0xFF else "\\u%04x" % o
    return esc


def _q(s: str) -> str:
    """Double-quoted YAML scalar, escaping only what YAML requires."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, s) + '"'


_NUMBER_LIKE = re.compile(r"[-+.]?[0-9][0-9_.:eE+-]*|[-+]?0[xXoObB][0-9a-fA-F_]+"
                          r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*")


def _plain_ok(s: str) -> bool:
    """True when s can be written as a plain YAML scalar and read back as the
    same string (YAML 1.1 and 1.2). Rule-based, so the output never depends on
    which YAML library is installed."""
    return (bool(_PLAIN_RE.fullmatch(s)) and s == s.strip()
            and s.lower() not in _YAML11_SPECIAL and not _NUMBER_LIKE.fullmatch(s))


def _p(s: str) -> str:
    """Plain scalar where that round-trips as the same string, else quoted."""
    return s if _plain_ok(s) else _q(s)


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_url(a: dict) -> str | None:
    """The key an ingester should de-duplicate on: webUrl, else originalUrl."""
    return a.get("webUrl") or a.get("originalUrl")


def _emit_images(lines: list, images: list, indent: str) -> None:
    for im in images:
        lines.append(f"{indent}- url: {_q(im['url'])}")
        lines.append(f"{indent}  width: {im['width']}")
        lines.append(f"{indent}  height: {im['height']}")
        if "isCached" in im:
            lines.append(f"{indent}  isCached: {'true' if im['isCached'] else 'false'}")
        if "title" in im:
            lines.append(f"{indent}  title: {_q(im['title'])}")


def _emit_urls(lines: list, a: dict, indent: str) -> None:
    for key in ("originalUrl", "webUrl", "ampWebUrl", "cdnAmpWebUrl"):
        if key in a:
            lines.append(f"{indent}{key}: {_q(a[key])}")


def render(a: dict, newline: str | None = None) -> str:
    """Front-matter text of one article dict (keys as yaml.safe_load returns)."""
    L = ["---", "category: " + _p(a["category"]), "title: " + _q(a["title"]),
         "excerpt: " + _q(a["excerpt"]), "publishedDateTime: " + _ts(a["publishedDateTime"])]
    _emit_urls(L, a, "")
    L += [f"type: {a['type']}", f"quality: {a['quality']}", f"heat: {a['heat']}",
          f"published: {'true' if a['published'] else 'false'}", ""]
    if "featuredContent" in a:
        L += ["featuredContent: " + _q(a["featuredContent"]), ""]
    pv = a["provider"]
    L += ["provider:", "  name: " + _p(pv["name"]), "  domain: " + _p(pv["domain"])]
    if pv.get("images"):
        L.append("  images:")
        _emit_images(L, pv["images"], "    ")
    L.append("")
    L.append("topics:")
    L += ["  - " + _p(t) for t in a["topics"]]
    L.append("")
    if a.get("images"):
        L.append("images:")
        _emit_images(L, a["images"], "  ")
        L.append("")
    if a.get("related"):
        L.append("related:")
        for r in a["related"]:
            L.append("  - title: " + _q(r["title"]))
            L.append("    excerpt: " + _q(r["excerpt"]))
            L.append("    publishedDateTime: " + _ts(r["publishedDateTime"]))
            _emit_urls(L, r, "    ")
            L.append(f"    type: {r['type']}")
            L += ["    provider:", "      name: " + _p(r["provider"]["name"]),
                  "      domain: " + _p(r["provider"]["domain"])]
            L.append(f"    quality: {r['quality']}")
            if r.get("images"):
                L.append("    images:")
                _emit_images(L, r["images"], "      ")
        L.append("")
    L += ["secured: " + _q(a["secured"]), "---", ""]
    nl = newline or a.get("_newline", "\n")
    return nl.join(L)


# --------------------------------------------------------------------------
# Article generation
# --------------------------------------------------------------------------

def _slugify(title: str, fallback: str) -> str:
    s = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    s = s[:100].rstrip("-")
    return s or fallback


class _Gen:
    def __init__(self, seed: int, start: dt.datetime, days: int):
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.topics = _zipf(TOPICS, 1.05)
        self.providers = _zipf(PROVIDERS, 1.0)
        r = random.Random(seed ^ 0x5EED)
        rare = sorted({"".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 4)))
                       for _ in range(6000)})
        r.shuffle(rare)
        self.rare = _zipf(rare, 1.1)
        # Excerpt vocabulary: common words (88% of tokens) + a long tail of
        # made-up product names (12%), each part Zipf-distributed.
        cw = [1.0 / (i + 1) ** 0.9 for i in range(len(_COMMON_WORDS))]
        rw = [1.0 / (i + 1) ** 1.1 for i in range(len(rare))]
        sc, sr = 0.88 / sum(cw), 0.12 / sum(rw)
        self.vocab = _COMMON_WORDS + rare
        self.vocab_cum = list(itertools.accumulate([w * sc for w in cw] + [w * sr for w in rw]))
        qs = sorted(_REAL_QUALITY)
        self.quality = _Cum(qs, [_REAL_QUALITY[q] for q in qs])
        self.recent: deque = deque(maxlen=5000)

    # -- small pieces -----------------------------------------------------
    def quality_value(self) -> int:
        return max(1, self.quality.pick(self.rng) + self.rng.randint(-6, 6))

    def product(self) -> str:
        return self.rare.pick(self.rng).capitalize()

    def title(self, topic: str) -> str:
        rng = self.rng
        year = self.start.year + rng.randint(0, max(1, self.days // 365))
        form = rng.random()
        if form < 0.03:
            t = rng.choice(_UNICODE_TITLES)
            return t % year if "%d" in t else t
        company = rng.choice(_COMPANIES)
        if form < 0.55:
            verb = rng.choice(_VERBS)
            if "%d" in verb:
                verb = verb % rng.choice([5, 10, 25, 40, 100, 250, 1000])
            suffix = rng.choice(_SUFFIXES)
            if "%d" in suffix:
                suffix = suffix % year
            t = f"{company} {verb} {self.product()} {topic} {rng.choice(_NOUNS)}{suffix}"
        elif form < 0.67:
            t = f"How {company} uses {topic} to {rng.choice(['cut costs', 'ship faster', 'fight fraud', 'win customers', 'scale'])}"
        elif form < 0.77:
            t = f"{rng.randint(3, 15)} {topic} {rng.choice(_NOUNS)}s to watch in {year}"
        elif form < 0.85:
            t = f"Is {topic} the future of {rng.choice(_COMMON_WORDS[-80:])}?"
        elif form < 0.92:
            t = (f"{company}’s {self.product()}: “{topic} is here to stay,” "
                 f"says {rng.choice(['CEO', 'CTO', 'analyst', 'report'])}")
        else:
            t = f"[Video] {topic} {rng.choice(_NOUNS)} deep dive | {self.product()} #{rng.randint(1, 300)}"
        if rng.random() < 0.05:
            e = rng.choice(_EMOJI)
            t = f"{e} {t}" if rng.random() < 0.5 else f"{t} {e}"
        return t

    def sentence(self, lo: int, hi: int) -> str:
        rng = self.rng
        ws = rng.choices(self.vocab, cum_weights=self.vocab_cum, k=rng.randint(lo, hi))
        return " ".join(ws).capitalize() + rng.choice(".....!?")

    def excerpt(self, title: str, topic: str) -> str:
        rng = self.rng
        parts = [f"{rng.choice(_CONNECTORS)} {topic} {self.sentence(4, 14)}"]
        if rng.random() < 0.01:  # very long excerpt (> 4096 characters)
            target = rng.randint(4100, 12000)
            size = len(parts[0])
            while size < target:
                s = self.sentence(8, 30)
                if rng.random() < 0.1:
                    s += "\n\n"
                parts.append(s)
                size += len(s) + 1
            return " ".join(parts)
        for _ in range(rng.randint(0, 3)):
            parts.append(self.sentence(5, 18))
        text = " ".join(parts)
        if rng.random() < 0.05:
            text += "  • " + "  • ".join(self.sentence(2, 5) for _ in range(3))
        return text[:340].rstrip()

    def url(self, domain: str, when: dt.datetime, slug: str) -> str:
        rng = self.rng
        form = rng.random()
        if form < 0.5:
            u = f"https://{domain}/{when:%Y/%m/%d}/{slug}/"
        elif form < 0.8:
            u = f"https://www.{domain}/news/{slug}-{rng.randint(10000, 99999999)}"
        else:
            u = f"https://{domain}/article/{slug}.html"
        if rng.random() < 0.05:
            u += f"?utm_source=feed&utm_medium=rss&id={rng.randint(1, 10**6)}"
        return u

    def image(self, domain: str, with_title: str | None = None) -> dict:
        rng = self.rng
        w, h = rng.choice([(1200, 630), (1200, 600), (796, 418), (1024, 685),
                           (1280, 720), (1536, 864), (760, 428), (800, 450)])
        im = {"url": f"https://cdn.{domain}/images/{rng.getrandbits(48):012x}.jpg",
              "width": w, "height": h, "isCached": rng.random() < 0.95}
        if with_title is not None and rng.random() < 0.3:
            im["title"] = with_title
        return im

    def related(self, when: dt.datetime, topic: str) -> list:
        rng = self.rng
        if rng.random() < 0.45:
            return []
        out = []
        seen = set()
        for _ in range(rng.randint(1, 8)):
            if self.recent and rng.random() < 0.35:
                title, url, prov, pdt, q = self.recent[rng.randrange(len(self.recent))]
                typ = "article"
            else:
                prov = self.providers.pick(rng)
                title = self.title(topic)
                pdt = when + dt.timedelta(minutes=rng.randint(-72 * 60, 72 * 60))
                url = self.url(prov[1], pdt, _slugify(title, f"item-{rng.getrandbits(32):08x}"))
                q = self.quality_value()
                typ = "video" if rng.random() < 0.04 else "article"
            if url in seen:
                continue
            seen.add(url)
            r = {"title": title, "excerpt": self.excerpt(title, topic)[:300],
                 "publishedDateTime": pdt, "webUrl": url}
            if rng.random() < 0.4:
                r["ampWebUrl"] = url.rstrip("/") + "/amp/"
                r["cdnAmpWebUrl"] = ("https://" + prov[1].replace(".", "-")
                                     + ".cdn.ampproject.org/c/s/" + url.split("://", 1)[1])
            r["type"] = typ
            r["provider"] = {"name": prov[0], "domain": prov[1]}
            r["quality"] = q
            if rng.random() < 0.7:
                r["images"] = [self.image(prov[1])]
            out.append(r)
        return out

    # -- whole article ----------------------------------------------------
    def article(self, i: int, n: int) -> dict:
        rng = self.rng
        frac = (i + rng.random()) / max(1, n)
        when = self.start + dt.timedelta(seconds=int(frac * self.days * 86400))
        topics = self.topics.pick_distinct(rng, rng.choices([1, 2, 3, 4], [50, 35, 12, 3])[0])
        prov = self.providers.pick(rng)
        is_video = rng.random() < 0.06
        title = self.title(topics[0])
        slug = _slugify(title, f"article-{rng.getrandbits(32):08x}")
        q = self.quality_value()
        a: dict = {"category": "news", "title": title, "excerpt": self.excerpt(title, topics[0]),
                   "publishedDateTime": when}
        if is_video:
            vid = base64.urlsafe_b64encode(rng.randbytes(8)).decode()[:11]
            a["originalUrl"] = f"https://youtube.com/watch?v={vid}"
            a["type"] = "video"
            prov = ("YouTube", "youtube.com") if rng.random() < 0.5 else prov
        else:
            url = self.url(prov[1], when, slug)
            form = rng.random()
            if form < 0.60:
                a["originalUrl"] = url
                a["webUrl"] = url if rng.random() < 0.9 else url.split("?")[0] + "?ref=smartable"
            elif form < 0.85:
                a["webUrl"] = url
            else:
                a["originalUrl"] = url
            if "webUrl" in a and rng.random() < 0.1:
                a["ampWebUrl"] = a["webUrl"].rstrip("/") + "/amp/"
                a["cdnAmpWebUrl"] = ("https://" + prov[1].replace(".", "-")
                                     + ".cdn.ampproject.org/c/s/" + a["webUrl"].split("://", 1)[1])
            a["type"] = "article"
        a["quality"] = q
        a["heat"] = q if rng.random() < 0.85 else -1
        a["published"] = rng.random() < 0.69
        if is_video:
            a["featuredContent"] = (
                f'<iframe width="800" height="500" frameborder="0" '
                f'src="https://www.youtube.com/embed/{a["originalUrl"][-11:]}" '
                f'allow="accelerometer; autoplay; encrypted-media; gyroscope; '
                f'picture-in-picture" allowfullscreen></iframe>')
        pv: dict = {"name": prov[0], "domain": prov[1]}
        if rng.random() < 0.85:
            pv["images"] = [{"url": f"https://smartableai.github.io/news/assets/images/"
                                    f"organizations/{prov[1]}-50x50.jpg",
                             "width": 50, "height": 50}]
        a["provider"] = pv
        a["topics"] = topics
        if rng.random() < 0.97:
            a["images"] = [self.image(prov[1], title) for _ in range(rng.choice([1, 1, 1, 1, 2, 3]))]
        rel = self.related(when, topics[0])
        if rel:
            a["related"] = rel
        a["secured"] = (base64.b64encode(rng.randbytes(rng.randint(200, 400))).decode()
                        + ";" + base64.b64encode(rng.randbytes(16)).decode())
        a["_slug"] = slug
        a["_newline"] = "\r\n" if rng.random() < 0.3 else "\n"
        return a

    def duplicate(self, orig: dict) -> dict:
        """A later copy of an earlier article: same URL, updated quality/heat."""
        rng = self.rng
        a = dict(orig)
        q = max(1, orig["quality"] + rng.choice([-20, -8, -3, 3, 8, 15, 30]))
        a["quality"] = q
        a["heat"] = q if orig["heat"] != -1 or rng.random() < 0.5 else -1
        a["published"] = orig["published"] or rng.random() < 0.5
        if rng.random() < 0.3:
            a["title"] = orig["title"] + " (updated)"
            a["_slug"] = _slugify(a["title"], orig["_slug"])
        a["_newline"] = "\r\n" if rng.random() < 0.3 else "\n"
        a["_duplicate_of"] = canonical_url(orig)
        return a


def iter_articles(n: int, seed: int = 1, *, start: dt.datetime | None = None,
                  days: int = 730, dup_fraction: float = 0.02) -> Iterator[dict]:
    """Yield n article dicts (deterministic for the same arguments).

    Keys match what ``yaml.safe_load`` returns for the rendered file, plus
    private keys: ``_slug``, ``_newline`` and, for duplicates, ``_duplicate_of``.
    """
    g = _Gen(seed, start or dt.datetime(2019, 6, 1), days)
    pool: deque = deque(maxlen=2000)
    for i in range(n):
        if pool and g.rng.random() < dup_fraction:
            a = g.duplicate(pool[g.rng.randrange(len(pool))])
        else:
            a = g.article(i, n)
            pool.append(a)
            g.recent.append((a["title"], canonical_url(a), (a["provider"]["name"],
                             a["provider"]["domain"]), a["publishedDateTime"], a["quality"]))
        yield a


# --------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------

def _corrupt(kind: str, a: dict, text: str, rng: random.Random) -> bytes:
    lines = text.split("\n")
    if kind == "broken_yaml":
        variant = rng.randrange(4)
        for i, ln in enumerate(lines):
            if variant == 0 and ln.startswith("title: "):
                lines[i] = ln[:-1]  # drop the closing quote
                break
            if variant == 1 and ln.startswith("  domain: "):
                lines[i] = ln[1:]  # mis-indented key inside the provider mapping
                break
            if variant == 2 and ln.startswith("quality: "):
                lines[i] = "quality: 12: 34"
                break
            if variant == 3 and ln.startswith("provider:"):
                lines[i] = "provider: [name: {broken"
                break
        return "\n".join(lines).encode("utf-8")
    if kind == "missing_title":
        return "\n".join(ln for ln in lines if not ln.startswith("title: ")).encode("utf-8")
    if kind == "missing_url":
        drop = ("originalUrl: ", "webUrl: ", "ampWebUrl: ", "cdnAmpWebUrl: ")
        return "\n".join(ln for ln in lines if not ln.startswith(drop)).encode("utf-8")
    if kind == "wrong_types":
        variant = rng.randrange(5)
        for i, ln in enumerate(lines):
            if variant == 0 and ln.startswith("quality: "):
                lines[i] = 'quality: "very high"'
            elif variant == 1 and ln == "topics:":
                j = i + 1
                while j < len(lines) and lines[j].startswith("  - "):
                    j += 1
                lines[i:j] = ["topics: AI, Cloud"]
                break
            elif variant == 2 and ln.startswith("publishedDateTime: "):
                lines[i] = "publishedDateTime: yesterday"
            elif variant == 3 and ln.startswith("title: "):
                lines[i] = "title: [1, 2, 3]"
            elif variant == 4 and ln == "provider:":
                j = i + 1
                while j < len(lines) and lines[j].startswith("  "):
                    j += 1
                lines[i:j] = ["provider: 42"]
                break
        return "\n".join(lines).encode("utf-8")
    if kind == "non_utf8":
        raw = text.encode("utf-8")
        marker = b'title: "'
        k = raw.find(marker) + len(marker)
        junk = rng.choice([b"\x93Smart quotes\x94 ", b"Caf\xe9 ", b"\xff\xfe\xfa ", b"\xc3\x28 "])
        return raw[:k] + junk + raw[k:]
    if kind == "empty":
        return b"" if rng.random() < 0.7 else b"\n\n"
    if kind == "no_closing":
        end = text.rfind("---")
        return text[:end].encode("utf-8")
    if kind == "not_mapping":
        return rng.choice([b"---\n- just\n- a\n- list\n---\n",
                           b"---\njust a scalar string\n---\n", b"---\n---\n"])
    if kind == "no_front_matter":
        return f"# {a['title']}\n\n{a['excerpt']}\n".encode()
    raise ValueError(kind)


# --------------------------------------------------------------------------
# Writing a corpus
# --------------------------------------------------------------------------

def write_corpus(out_dir: str, n: int, seed: int = 1, *, bad: int = 0,
                 days: int = 730, start: dt.datetime | None = None,
                 dup_fraction: float = 0.02, verify: bool = False) -> dict:
    """Write n well-formed article files (+ bad malformed ones); return a manifest."""
    os.makedirs(out_dir, exist_ok=True)
    used: set[str] = set(os.listdir(out_dir))
    if any(f.endswith(".md") for f in used):
        raise SystemExit(f"{out_dir} already holds .md files; use an empty directory")
    rng_bad = random.Random(seed * 7919 + 17)
    bad_at = set(rng_bad.sample(range(n + bad), bad)) if bad else set()
    first_file: dict[str, str] = {}  # canonical URL -> first well-formed file with it
    dups: list[dict] = []
    bad_files: list[dict] = []
    crlf = nbytes = 0
    arts = iter_articles(n + bad, seed, start=start, days=days, dup_fraction=dup_fraction)
    for i, a in enumerate(arts):
        base = f"{a['publishedDateTime']:%Y-%m-%d}-{a['_slug']}"
        name = base + ".md"
        k = 2
        while name in used:
            name = f"{base}-{k}.md"
            k += 1
        used.add(name)
        text = render(a, "\n")
        if i in bad_at:
            kind = BAD_KINDS[len(bad_files) % len(BAD_KINDS)]
            data = _corrupt(kind, a, text, rng_bad)
            bad_files.append({"file": name, "kind": kind})
        else:
            if a["_newline"] == "\r\n":
                text = text.replace("\n", "\r\n")
                crlf += 1
            data = text.encode("utf-8")
            u = canonical_url(a)
            if u in first_file:
                dups.append({"file": name, "url": u, "quality": a["quality"],
                             "first_file": first_file[u],
                             "reason": "republished" if "_duplicate_of" in a else "url_collision"})
            else:
                first_file[u] = name
            if verify:
                _verify(data, a, name)
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        nbytes += len(data)
    return {
        "generator": "gen_corpus.py", "seed": seed, "n_good": n, "n_bad": bad,
        "files": n + bad, "bytes": nbytes, "unique_urls": len(first_file),
        "duplicate_files": len(dups), "crlf_files": crlf, "duplicates": dups,
        "bad_files": bad_files,
    }


def _verify(data: bytes, a: dict, name: str) -> None:
    if yaml is None:
        raise SystemExit("--verify needs PyYAML")
    text = data.decode("utf-8").replace("\r\n", "\n")
    assert text.startswith("---\n") and text.endswith("\n---\n"), name
    doc = yaml.load(text[4:-4], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    want = copy.deepcopy({k: v for k, v in a.items() if not k.startswith("_")})
    want["publishedDateTime"] = want["publishedDateTime"].replace(tzinfo=dt.UTC)
    for r in want.get("related", []):
        r["publishedDateTime"] = r["publishedDateTime"].replace(tzinfo=dt.UTC)
    got = dict(doc)
    got_pdt = got["publishedDateTime"]
    if got_pdt.tzinfo is None:  # PyYAML < 6 returns naive UTC datetimes
        got["publishedDateTime"] = got_pdt.replace(tzinfo=dt.UTC)
        for r in got.get("related", []):
            r["publishedDateTime"] = r["publishedDateTime"].replace(tzinfo=dt.UTC)
    if got != want:
        diff = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
        raise AssertionError(f"{name}: round trip differs in {sorted(diff)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", help="directory to write the .md files into (created)")
    ap.add_argument("-n", "--count", type=int, default=1000,
                    help="number of well-formed article files (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--bad", type=int, default=0, metavar="K",
                    help="also write K malformed files, cycling through: "
                         + ", ".join(BAD_KINDS))
    ap.add_argument("--days", type=int, default=730,
                    help="publication dates span this many days (default 730)")
    ap.add_argument("--start", default="2019-06-01",
                    help="first publication date, YYYY-MM-DD (default 2019-06-01)")
    ap.add_argument("--dup-fraction", type=float, default=0.02,
                    help="share of files re-publishing an earlier URL (default 0.02)")
    ap.add_argument("--manifest", metavar="PATH", help="write a JSON manifest here")
    ap.add_argument("--verify", action="store_true",
                    help="re-parse every well-formed file with PyYAML (slow)")
    args = ap.parse_args(argv)
    if args.verify and yaml is None:
        ap.error("--verify needs PyYAML (pip install pyyaml)")
    start = dt.datetime.strptime(args.start, "%Y-%m-%d")
    m = write_corpus(args.out_dir, args.count, args.seed, bad=args.bad, days=args.days,
                     start=start, dup_fraction=args.dup_fraction, verify=args.verify)
    if args.manifest:
        with open(args.manifest, "w", encoding="utf-8") as f:
            json.dump(m, f, ensure_ascii=False, indent=1)
    print(f"wrote {m['files']} files ({m['n_bad']} malformed, {m['duplicate_files']} "
          f"duplicate URLs, {m['crlf_files']} CRLF) into {args.out_dir}: "
          f"{m['bytes'] / 1e6:.1f} MB, {m['unique_urls']} unique URLs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
