"""Category search as people type it: everyday words in Chinese and English, ranked.

Every active category is held in memory (a few hundred rows, see ``civgrid.db.cache``) with its
names, keywords (pinyin and initials), its class's names and the everyday words of
``data/catalogue/search_terms.csv`` ("pothole", "坑洼", "garbage" …). A query is scored against
each: words of the query found in a category's own names count most, then in its everyday words,
keywords and class. Pinyin counts as the Chinese it spells: "laji" is 垃圾, an everyday word of
暴露垃圾 and inside the name 垃圾箱异常, but only a part of 烧垃圾, a word of 露天焚烧. For
Chinese, written without spaces, a category's words found inside the query count by their
length ("门口的垃圾没人清" holds 垃圾). Categories with the same Chinese
name in both lists (占道经营 as G07001 and M09006) are shown once on the public pickers.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.catalogue.models import Category, CategoryKind
from civgrid.db.cache import TableCache

TERMS_FILE = Path(__file__).resolve().parent.parent / "data" / "catalogue" / "search_terms.csv"
_SPLIT = re.compile(r"[\s,，。.!?！？;；:：、/()（）\"'“”]+")
RELATIVE_CUTOFF = 0.4
_CJK = re.compile(r"[\u3400-\u9fff]")
# English words that say nothing about the matter.
STOP_WORDS = frozenset(
    """a an the is are was were be been there here this that these those it its of in on at to
    for from by with and or not no my our your their his her me we you they i near next outside
    inside front back some any very too has have had do does did can could please help someone
    somebody something all lot lots been being""".split()
)


@lru_cache
def everyday_terms() -> dict[str, tuple[str, ...]]:
    """Category code → its everyday words (``search_terms.csv``), lower-case."""
    with TERMS_FILE.open(encoding="utf-8") as fh:
        return {
            r["code"]: tuple(t.strip().lower() for t in r["terms"].split(";") if t.strip())
            for r in csv.DictReader(fh)
        }


@dataclass(frozen=True)
class _Entry:
    id: int
    code: str
    kind: CategoryKind
    published: bool
    name_zh: str
    names: str  # own names, lower-case
    terms: tuple[str, ...]  # everyday words
    keywords: str  # keywords (pinyin, initials), lower-case
    major: str  # the class's names, lower-case
    cjk_terms: tuple[str, ...]  # Chinese words of the category, longest first
    bigrams: frozenset[str]  # pairs of Chinese characters of its name and everyday words
    name_pinyin: tuple[str, ...]  # its Chinese name in pinyin and initials ("baolulaji", "bllj")
    terms_pinyin: tuple[str, ...]  # its Chinese everyday words so ("laji", "lj", "shaolaji" …)


def _load(db: Session) -> list[_Entry]:
    extra = everyday_terms()
    out = []
    for c in db.scalars(select(Category).where(Category.is_active).order_by(Category.code)):
        terms = extra.get(c.code, ())
        words = [c.name_zh, *terms, *c.keywords.split()]
        cjk = sorted({w for w in words if len(w) >= 2 and _CJK.search(w)}, key=len, reverse=True)
        out.append(
            _Entry(
                id=c.id,
                code=c.code,
                kind=c.kind,
                published=c.is_published,
                name_zh=c.name_zh,
                names=f"{c.name_zh} {c.name_en}".lower(),
                terms=terms,
                keywords=c.keywords.lower(),
                major=f"{c.major_name_zh} {c.major_name_en}".lower(),
                cjk_terms=tuple(cjk),
                bigrams=_bigrams(" ".join([c.name_zh.replace("异常", ""), *terms])),
                name_pinyin=_pinyin(c.name_zh),
                terms_pinyin=tuple(p for t in terms if _CJK.search(t) for p in _pinyin(t)),
            )
        )
    return out


_INDEX = TableCache("category_search", _load, (Category,))


def _pinyin(text: str) -> tuple[str, str]:
    return "".join(lazy_pinyin(text)), "".join(lazy_pinyin(text, style=Style.FIRST_LETTER))


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(
        a + b for a, b in zip(text, text[1:], strict=False) if _CJK.match(a) and _CJK.match(b)
    )


def _tokens(q: str) -> list[str]:
    out = []
    for word in _SPLIT.split(q.lower()):
        if not word or word in STOP_WORDS or (len(word) < 2 and not _CJK.search(word)):
            continue
        out.append(word)
    return out


def _variants(token: str) -> tuple[str, ...]:
    """The word and, for an English plural, its singular ("potholes" → "pothole")."""
    if token.isascii() and len(token) > 3:
        if token.endswith("ies"):
            return token, token[:-3] + "y"
        if token.endswith("es"):
            return token, token[:-2], token[:-1]
        if token.endswith("s"):
            return token, token[:-1]
    return (token,)


def _field_weight(e: _Entry, token: str) -> float:
    """How strongly a word of the query points at this category: 0 when it does not."""
    forms = _variants(token)
    if any(f in e.names for f in forms):
        return 10
    if any(f == t for f in forms for t in e.terms):
        return 8
    if token in e.terms_pinyin:  # "laji" is 垃圾, an everyday word of M06010 暴露垃圾
        return 8
    if any(token in p for p in e.name_pinyin):  # in 暴露垃圾, 垃圾箱异常 …
        return 7
    if any(f in t for f in forms for t in e.terms):
        return 6
    if any(token in p for p in e.terms_pinyin):  # only in 烧垃圾, a word of 露天焚烧
        return 5
    if any(f in e.keywords for f in forms):
        return 4
    if any(f in e.major for f in forms):
        return 2
    return 5 if e.code.startswith(token.upper()) else 0


def _scores(entries: list[_Entry], q: str) -> list[float]:
    """Each entry's score for ``q``: a word found in few categories weighs more than a common
    one ("pothole" more than "street"), as in tf-idf."""
    if any(q.upper() == e.code for e in entries):
        return [1000.0 if q.upper() == e.code else 0.0 for e in entries]
    tokens = _tokens(q)
    scores = [0.0] * len(entries)
    matched = [0] * len(entries)
    for token in tokens:
        weights = [_field_weight(e, token) for e in entries]
        found = sum(1 for w in weights if w)
        if not found:
            continue
        idf = math.log(1 + len(entries) / found)
        for k, w in enumerate(weights):
            if w:
                scores[k] += w * idf
                matched[k] += 1
    for k, e in enumerate(entries):
        if tokens and matched[k] == len(tokens):  # every word of the query is found
            scores[k] += 5
        if _CJK.search(q):
            scores[k] += _cjk_score(e, q)
    return scores


def _cjk_score(e: _Entry, q: str) -> float:
    """Chinese is written without spaces: the category's words inside the query, by length,
    and the pairs of characters it shares with the query."""
    score = 3.0 * len(_bigrams(q) & e.bigrams)
    covered = q
    for term in e.cjk_terms:  # longest first; each stretch of the query counts once
        if term in covered:
            score += 2.5 * len(term) + (3 if term == e.name_zh else 0)
            covered = covered.replace(term, "\0")
    return score


def search(
    db: Session,
    q: str,
    *,
    kinds: Sequence[CategoryKind],
    published_only: bool,
    limit: int,
) -> list[Category]:
    """The best-matching categories for ``q``, best first (see the module doc)."""
    entries = [e for e in _INDEX.get(db) if e.kind in kinds and (e.published or not published_only)]
    q = " ".join(q.split())
    if q:
        scored = [(s, e) for s, e in zip(_scores(entries, q), entries, strict=True) if s > 0]
        scored.sort(key=lambda se: (-se[0], se[1].code))
        # Far weaker matches (a word that happens to sit inside the query) are noise.
        best = scored[0][0] if scored else 0.0
        entries = [e for s, e in scored if s >= RELATIVE_CUTOFF * best]
    if published_only:  # one entry per Chinese name on the public pickers
        first: dict[str, _Entry] = {}
        for e in entries:
            first.setdefault(e.name_zh, e)
        entries = [e for e in entries if first[e.name_zh] is e]
    wanted = [e.id for e in entries[:limit]]
    if not wanted:
        return []
    rows = {c.id: c for c in db.scalars(select(Category).where(Category.id.in_(wanted)))}
    return [rows[i] for i in wanted if i in rows]
