"""A deterministic design brief from a keyword alone, for local runs and as a fallback.

No model and no network: every choice (slogan family, style, palette, wording) is taken
from a sha256 of the normalised keyword, so the same keyword always gives the same brief
and workflow retries or replays never see a different design.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Sequence

from domain.listing_rules import (
    TAG_MAX_CHARS,
    TITLE_MAX_CHARS,
    clean_tag,
    clean_tags,
    clean_title,
    plain_text,
    tag_text,
)
from domain.niches import FILLER_WORDS, STOPWORDS
from models.payloads import DesignBrief

KEYWORD_MIN_CHARS = 2
KEYWORD_MAX_CHARS = 80
SLOGAN_MAX_CHARS = 32

# Slogan families; "{k}" is the keyword in title case. All read sensibly with a noun or an
# activity ("coffee", "cat mom", "pickleball") and avoid `% : & +`, which Etsy allows
# only once per title.
SLOGAN_TEMPLATES: tuple[str, ...] = (
    "Powered by {k}",
    "Just a {k} Kind of Day",
    "{k} Club",
    "Certified {k} Enthusiast",
    "Eat Sleep {k} Repeat",
    "Life Is Better With {k}",
    "Official {k} Squad",
    "Keep Calm and Love {k}",
)

# Lettering styles, each with two tags a shopper might search for.
STYLES: tuple[tuple[str, tuple[str, str]], ...] = (
    ("bold retro typography", ("retro tee", "typography shirt")),
    ("vintage varsity lettering", ("vintage tee", "varsity shirt")),
    ("chunky 70s sunset typography", ("70s retro shirt", "retro sunset tee")),
    ("clean modern stacked type", ("minimalist tee", "typography shirt")),
    ("distressed college-style lettering", ("college style tee", "distressed tee")),
)

# Curated palettes: light or saturated tones with enough contrast on black, navy and
# charcoal tees (tests check each against #1b1b1b).
PALETTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("retro sunset", ("#FFB703", "#FB8500", "#FF5D8F", "#8ECAE6")),
    ("electric neon", ("#39FF14", "#00E5FF", "#FF3CAC")),
    ("vintage cream", ("#F4E9D8", "#E9C46A", "#F4A261", "#E76F51")),
    ("arctic", ("#E0FBFC", "#98C1D9", "#EE6C4D")),
    ("citrus pop", ("#FFE66D", "#FF6B6B", "#4ECDC4", "#F7FFF7")),
    ("pastel candy", ("#FFC8DD", "#BDE0FE", "#CDB4DB", "#FFAFCC")),
)

AUDIENCES: tuple[str, ...] = (
    "{k} lovers and the friends who shop for them",
    "anyone whose personality is at least half {k}",
    "{k} fans who like a laugh",
    "people who never stop talking about {k}",
)

TITLE_ADJECTIVES: tuple[str, ...] = ("Funny", "Cute", "Cool", "Witty")
# How each lettering style reads in a title, after the buyer's search phrase.
STYLE_TITLES: dict[str, str] = {
    "bold retro typography": "Retro Typography",
    "vintage varsity lettering": "Vintage Varsity",
    "chunky 70s sunset typography": "70s Sunset",
    "clean modern stacked type": "Minimalist Type",
    "distressed college-style lettering": "Distressed College",
}
# The title's closing descriptors: what it is and what it is for.
TITLE_TAIL = ("Graphic Tee", "Birthday Gift Idea", "Unisex Soft Cotton Crewneck")
# Words that name the product, not the niche: two tags that differ only by these are
# one search phrase to Etsy (`cat mom shirt`, `cat mom tee`), so only one is kept.
PRODUCT_WORDS = frozenset(
    {"shirt", "tshirt", "t", "tee", "tees", "top", "gift", "gifts", "idea", "for", "a", "the"}
)

DECORATIONS: tuple[str, ...] = (
    "a row of small stars above the words",
    "thin horizontal rules and a small 'EST.' line below the words",
    "a row of stars above and a small 'EST.' line below the words",
)

# Words that read badly at the end of a shortened keyword ("gift for").
_DANGLING_WORDS = frozenset({"a", "an", "and", "for", "of", "the", "to", "with", "in", "on", "&"})
# Lower case inside a title-cased slogan, as in most headline styles.
# Keyword words too vague to be a tag on their own.
_GENERIC_WORDS = _DANGLING_WORDS | {"that", "this", "from", "more", "plus", "percent", "your"}
# Words a two-word tag may not hold: joining words and praise ("who loves", "funny cat").
_NOT_IN_PHRASES = _DANGLING_WORDS | _GENERIC_WORDS | STOPWORDS | FILLER_WORDS | {"who", "loves"}
_SMALL_WORDS = frozenset({"a", "an", "and", "by", "for", "of", "the", "to", "with", "in", "on"})
# A keyword repeated later in the title must not repeat a once-only character.
_ONCE_ONLY_WORDS = {"&": " and ", "+": " plus ", "%": " percent ", ":": " "}
_WHITESPACE = re.compile(r"\s+")


class BriefInputError(ValueError):
    """The keyword cannot make a brief (too short, too long or without a letter)."""


def normalise_keyword(keyword: str) -> str:
    """The keyword as plain words and emoji (markup, control characters and punctuation
    other than `' & + # . - ! ?` removed, those only inside words), NFC, whitespace
    collapsed; raises BriefInputError if unusable."""
    words = "".join(ch if _keyword_char(ch) else " " for ch in plain_text(keyword))
    normalised = _WHITESPACE.sub(" ", _LOOSE_PUNCTUATION.sub(" ", words)).strip()
    if words.strip() and not any(ch.isalpha() for ch in normalised):
        raise BriefInputError("keyword must contain at least one letter")
    if len(normalised) < KEYWORD_MIN_CHARS:
        raise BriefInputError(f"keyword must have at least {KEYWORD_MIN_CHARS} characters")
    if len(normalised) > KEYWORD_MAX_CHARS:
        raise BriefInputError(f"keyword must have at most {KEYWORD_MAX_CHARS} characters")
    return normalised


# The punctuation a keyword keeps ("mom's", "t-shirt", "c++", "rock & roll", "#1 dad");
# quotes, dots and dashes only inside words, so `'; DROP TABLE x;--` is its words.
_KEYWORD_PUNCTUATION = "'&+#.-!?"
_LOOSE_PUNCTUATION = re.compile(r"(?:(?<=\s)|^)['.\-!?]+|['.\-]+(?=\s|$)")


def _keyword_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Letters, digits, marks and emoji (the renderer leaves emoji out of the artwork).
    return ch.isspace() or ch in _KEYWORD_PUNCTUATION or category[0] in "LNM" or category == "So"


def write_brief(keyword: str) -> DesignBrief:
    """A complete, Etsy-valid design brief for `keyword`; the same keyword gives the same brief."""
    normalised = normalise_keyword(keyword)
    chooser = _Chooser(normalised)
    plain = _plain_keyword(normalised)  # for sentences: "cat mom", "NASA space camp"
    display = _display_keyword(plain)  # for slogan and title: "Cat Mom"

    slogan = _slogan(display, chooser)
    style, style_tags = chooser.pick(STYLES)
    palette_name, palette = chooser.pick(PALETTES)
    audience = chooser.pick(AUDIENCES).format(k=plain)
    decoration = chooser.pick(DECORATIONS)
    concept = (
        f'A typographic tee for {plain} fans: the slogan "{slogan}" set in '
        f"{style} with a {palette_name} palette that pops on dark shirts."
    )
    image_prompt = (
        f"A print-ready t-shirt graphic on a transparent background showing the words "
        f'"{slogan}" in {style}, coloured {", ".join(palette)}, with {decoration}, '
        f"centred, high contrast for dark garments, crisp clean edges, no mockup and no "
        f"background."
    )
    return DesignBrief(
        keyword=normalised,
        concept=concept,
        slogan=slogan,
        style=style,
        palette=list(palette),
        audience=audience,
        image_prompt=image_prompt,
        title=_title(display, chooser.pick(TITLE_ADJECTIVES), STYLE_TITLES[style]),
        tags=_tags(display, style_tags),
        description=_description(slogan, plain, concept, audience),
    )


class _Chooser:
    """Deterministic choices from a sha256 of the keyword; each call uses the next 4 bytes."""

    def __init__(self, normalised: str) -> None:
        self._digest = hashlib.sha256(normalised.casefold().encode("utf-8")).digest()
        self._slot = 0

    def pick[T](self, options: Sequence[T]) -> T:
        start = (self._slot * 4) % len(self._digest)
        self._slot += 1
        return options[int.from_bytes(self._digest[start : start + 4], "big") % len(options)]


def _plain_keyword(normalised: str) -> str:
    """The keyword as text for artwork and prose: symbols such as emoji dropped."""
    kept = "".join(
        ch for ch in normalised if unicodedata.category(ch)[0] in "LNPZ" or ch in "$€£™©®+="
    )
    return _WHITESPACE.sub(" ", kept).strip()


def _display_keyword(plain: str) -> str:
    """The keyword in headline case; words that have a capital ("NASA", "DnD") keep it."""
    words = plain.split(" ")
    return _headline_case(
        " ".join(w if any(c.isupper() for c in w) else _capitalise(w) for w in words)
    )


def _capitalise(word: str) -> str:
    """The first letter upper case, wherever it is ("#blessed" -> "#Blessed")."""
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1 :]
    return word


def _headline_case(text: str) -> str:
    """Small joining words lower case except at the start ("Powered by Coffee")."""
    words = text.split(" ")
    return " ".join(
        w.lower() if i and w.lower() in _SMALL_WORDS and w.istitle() else w
        for i, w in enumerate(words)
    )


def _keyword_prefixes(display: str) -> list[str]:
    """The keyword, then ever shorter leading word runs of it, for slogans that must be short."""
    words = display.split(" ")
    prefixes: list[str] = []
    for count in range(len(words), 0, -1):
        head = words[:count]
        if count < len(words):
            while len(head) > 1 and head[-1].lower() in _DANGLING_WORDS:
                head = head[:-1]
        candidate = " ".join(head)
        if candidate not in prefixes:
            prefixes.append(candidate)
    return prefixes


def _slogan(display: str, chooser: _Chooser) -> str:
    """A slogan of at most 32 characters, using as much of the keyword as will fit."""
    for keyword in _keyword_prefixes(display):
        fitting = [
            _headline_case(template.format(k=keyword))
            for template in SLOGAN_TEMPLATES
            if len(template.format(k=keyword)) <= SLOGAN_MAX_CHARS
        ]
        if fitting:
            return chooser.pick(fitting)
    # A single word longer than any template allows: the word itself, shortened.
    return display[: SLOGAN_MAX_CHARS - 1].rstrip() + "…"


def _title(display: str, adjective: str, style: str) -> str:
    """`<Keyword> Shirt, <Adjective> <Style> Graphic Tee, Birthday Gift Idea, Unisex Soft
    Cotton Crewneck`, at most 140 characters: the buyer's search phrase once, first, then
    descriptors that repeat none of its words (or each other's). Trailing parts are left
    off when the title would get too long."""
    product = "" if _words_of(display) & {"shirt", "tshirt", "tee"} else " Shirt"
    title = clean_title(spell_out_repeats(f"{display}{product}"))
    seen = _words_of(title)
    for part in (f"{adjective} {style} {TITLE_TAIL[0]}", *TITLE_TAIL[1:]):
        kept = [word for word in part.split(" ") if word.casefold() not in seen]
        if not kept or _words_of(" ".join(kept)) <= PRODUCT_WORDS:
            continue  # nothing left but product words: it would say nothing new
        candidate = spell_out_repeats(f"{title}, {' '.join(kept)}")
        if len(candidate) > TITLE_MAX_CHARS:
            break
        title = clean_title(candidate)
        seen |= _words_of(title)
    return title


def _words_of(text: str) -> set[str]:
    """The words of `text`, case-folded (`T-Shirt` is `t` and `shirt`)."""
    return {word for word in re.split(r"[^\w]+", text.casefold()) if word}


def tag_key(tag: str) -> frozenset[str]:
    """What a tag searches for: its words but the product words."""
    return frozenset(_words_of(tag) - PRODUCT_WORDS)


def spell_out_repeats(text: str) -> str:
    """Every `& + % :` after the first of its kind written as a word, as Etsy allows each once.

    The first stays, so the slogan at the start of a title keeps its own "&".
    """
    seen: set[str] = set()
    out: list[str] = []
    for ch in text:
        if ch in _ONCE_ONLY_WORDS:
            if ch in seen:
                out.append(_ONCE_ONLY_WORDS[ch])
                continue
            seen.add(ch)
        out.append(ch)
    return _WHITESPACE.sub(" ", "".join(out)).strip()


def _tags(display: str, style_tags: tuple[str, str]) -> list[str]:
    """Up to 13 Etsy-valid tags, most specific first, each a different search: the
    keyword as a shopper types it (`cat mom shirt`), its two-word phrases, the style,
    the occasion and the product, then its distinctive single words.

    Tags built from the keyword are used only when they fit whole: a tag cut at 20
    characters ("gift for the best") reads as noise to shoppers and to Etsy search.
    """
    keyword = tag_text(_spell_out_all(display))
    words = keyword.split(" ")
    named = _words_of(keyword) & {"shirt", "tshirt", "tee"}  # it names the product itself
    phrases = [keyword] if named else [f"{keyword} shirt", keyword]
    if len(words) >= 3:  # its two-word phrases, none with a joining word
        phrases += [
            " ".join(pair) for pair in itertools.pairwise(words) if not set(pair) & _NOT_IN_PHRASES
        ]
    whole = [
        tag
        for tag in phrases
        if len(tag) <= TAG_MAX_CHARS and not set(tag.split(" ")[-1:]) & _GENERIC_WORDS
    ]
    if len(keyword) > TAG_MAX_CHARS:
        # Too long for a tag: its leading words, then its distinctive single words.
        whole.insert(0, _shortened_tag(keyword))
    candidates = [
        *whole,
        *style_tags,
        "birthday gift idea",
        "funny graphic tee",
        "soft cotton tee",
        "unisex crewneck",
        *_distinctive_words(keyword, covered=set()),
        "gift for friend",
    ]
    seen: set[frozenset[str]] = set()
    distinct = []
    for tag in clean_tags(candidates):
        key = tag_key(tag)
        if key and key not in seen:
            seen.add(key)
            distinct.append(tag)
    return distinct


def _distinctive_words(keyword: str, *, covered: set[str], limit: int = 4) -> list[str]:
    """The longest few keyword words not already in a tag, in keyword order."""
    words = [w for w in dict.fromkeys(keyword.split(" ")) if len(w) > 3]
    words = [w for w in words if w not in _GENERIC_WORDS and w not in covered]
    longest = set(sorted(words, key=len, reverse=True)[:limit])
    return [w for w in words if w in longest]


def _shortened_tag(keyword: str) -> str:
    """The longest run of leading words that fits a tag, without a dangling "for"."""
    words = clean_tag(keyword).split(" ")
    while len(words) > 1 and words[-1] in _DANGLING_WORDS:
        words.pop()
    return " ".join(words)


def _spell_out_all(text: str) -> str:
    for symbol, word in _ONCE_ONLY_WORDS.items():
        text = text.replace(symbol, word)
    return text


def _description(slogan: str, plain: str, concept: str, audience: str) -> str:
    """Plain-text listing description: what it is, who it is for, product and care notes."""
    return "\n\n".join(
        [
            f"{slogan if slogan.endswith(('.', '!', '?', '…')) else slogan + '.'} {concept}",
            f"Made for {audience}. It makes an easy gift for birthdays, holidays or "
            f"any day that needs more {plain}.",
            "Product details:\n"
            "- Unisex heavy cotton tee with a classic fit\n"
            "- Printed on demand just for you, so please allow a few days before it ships\n"
            "- Sizes run true to a standard unisex fit; check the size chart in the photos",
            "Care: machine wash cold inside out with similar colours, tumble dry low, "
            "do not iron over the print and do not dry clean.",
        ]
    )
