"""When two trend keywords are the same niche: the merge rule of trend signals (ADR 0017).

Pure functions. A keyword's *content words* (`niche_terms`) are what is left after
dropping stopwords and words that do not change the niche (product and praise words),
with light stemming and a small table of spellings and synonyms. Equal sets of content
words are one niche (`niche_key`). Otherwise the cosine of the two keywords' embeddings
decides, but only when one keyword narrows the other: when each side has a content word
the other lacks ("soccer mom" and "hockey mom"), they are different niches however close
the vectors are, because small embedding models score such near-misses as high as true
paraphrases (0.92 for both in our measurements).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_KEYWORD_CHARS = 200

# Apostrophes join their word ("mom's" → "moms", then stemmed), they do not split it.
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bc`\u00b4")
_SPACES = re.compile(r"\s+")


def _words(text: str) -> frozenset[str]:
    """A word list written as text, one or more words a line."""
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a an and are as at be by for from i im in is it its me my of on or our s so t that the
    this to we with you your yours us was were will just very too all his her their
    who whose
    """
)

# Words that say what is printed on, or praise it, but not who buys it or why. Sellers
# add them to search phrases freely ("funny cat mom shirt"), so they never split a niche.
FILLER_WORDS = _words(
    """
    shirt tshirt tee tank top hoodie sweatshirt sweater crewneck apparel clothing outfit
    merch mug tumbler cup sticker decal poster print printable svg png pdf dxf eps clipart
    sublimation design gift present idea
    funny cute cool best awesome happy proud official ever world worlds
    unisex women womens men mens
    love lover vibe life
    """
)

# One spelling for words a buyer uses interchangeably. Deliberately small: two words are
# listed only when a seller would sell one design for both (see ADR 0017 for the ones
# left out on purpose, such as kitten, puppy and the grandparent names gigi and mimi).
VARIANTS: dict[str, str] = {
    "xmas": "christmas",
    "mama": "mom",
    "momma": "mom",
    "mommy": "mom",
    "mum": "mom",
    "mummy": "mom",
    "mother": "mom",
    "daddy": "dad",
    "papa": "dad",
    "father": "dad",
    "grandmother": "grandma",
    "granny": "grandma",
    "grandmom": "grandma",
    "nana": "grandma",
    "grandfather": "grandpa",
    "granddad": "grandpa",
    "grandad": "grandpa",
    "gramps": "grandpa",
    "kitty": "cat",
    "kitten": "cat",
    "puppy": "dog",
    "pup": "dog",
    "bunny": "rabbit",
    "doggy": "dog",
    "doggie": "dog",
    "doggo": "dog",
    "vintage": "retro",
    "bday": "birthday",
    "bestie": "friend",
    "bff": "friend",
    "hubby": "husband",
    "wifey": "wife",
    "st": "saint",
    "paddy": "patrick",
    "4th": "fourth",
    "hippy": "hippie",
}

# Singulars ending in -ie, so that "-ies" plurals of them are not turned into "-y".
_IE_SINGULARS = _words(
    """
    bestie cookie hippie selfie veggie zombie goalie rookie foodie newbie pixie brownie
    smoothie auntie sweetie movie hoodie boogie genie techie yorkie frenchie doggie roadie
    """
)
# Words ending in s that are not plurals.
_NOT_PLURAL = _words(
    "christmas texas kansas arkansas vegas always pickleball canvas atlas lens news"
)


@dataclass(frozen=True)
class NicheMatch:
    """The rule's verdict and why, in words a seller can read."""

    same: bool
    reason: str


def normalise_keyword(text: str) -> str:
    """The keyword as displayed and stored: NFKC, lower case, punctuation to single spaces.

    Apostrophes are dropped rather than spaced ("Mom's" → "moms") so a possessive stays
    one word. At most 200 characters, cut at a word boundary when there is one.
    """
    folded = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    spaced = "".join(" " if _is_separator(char) else char for char in folded)
    cleaned = _SPACES.sub(" ", spaced).strip()
    if len(cleaned) <= MAX_KEYWORD_CHARS:
        return cleaned
    cut = cleaned[:MAX_KEYWORD_CHARS]
    head, _, _ = cut.rpartition(" ")
    return head or cut


@lru_cache(maxsize=16_384)
def niche_terms(text: str) -> frozenset[str]:
    """The content words of a keyword: what names its buyer, subject or occasion.

    Cached: the similar route and every merge ask it again for the same keywords."""
    terms = set()
    for word in normalise_keyword(text).split():
        if word in STOPWORDS:
            continue
        term = _canonical(word)
        if term and term not in STOPWORDS and term not in FILLER_WORDS:
            terms.add(term)
    return frozenset(terms)


def niche_key(text: str) -> str:
    """Sorted content words joined by spaces: keywords with the same key are one niche."""
    return " ".join(sorted(niche_terms(text)))[:MAX_KEYWORD_CHARS]


def same_niche(a: str, b: str, cosine: float, threshold: float) -> NicheMatch:
    """Whether keywords `a` and `b` are one niche, given their embeddings' cosine.

    - the same content words: same niche, whatever the cosine;
    - each side has a content word the other lacks (a substitution): different niches,
      whatever the cosine;
    - one side's words are all in the other (a narrower niche, "cat mom" and "black cat
      mom"), or neither has content words: the same niche iff `cosine >= threshold`.
    """
    terms_a, terms_b = niche_terms(a), niche_terms(b)
    if terms_a == terms_b and terms_a:
        return NicheMatch(True, f"same content words: {', '.join(sorted(terms_a))}")
    only_a, only_b = sorted(terms_a - terms_b), sorted(terms_b - terms_a)
    if only_a and only_b:
        if len(only_a) == 1 and len(only_b) == 1:
            return NicheMatch(False, f"differs in a content word: {only_a[0]} vs {only_b[0]}")
        return NicheMatch(
            False, f"different content words: {' '.join(only_a)} vs {' '.join(only_b)}"
        )
    verdict = "at or above" if cosine >= threshold else "below"
    similarity = f"cosine {cosine:.3f} {verdict} the threshold {threshold:.3f}"
    if not terms_a and not terms_b:
        return NicheMatch(cosine >= threshold, f"no content words; {similarity}")
    extra = " ".join(only_a or only_b)
    return NicheMatch(cosine >= threshold, f"narrower niche adds {extra}; {similarity}")


def _is_separator(char: str) -> bool:
    """Punctuation, symbols (emoji included), spaces and control characters."""
    return unicodedata.category(char)[0] in "PSZC"


def _canonical(word: str) -> str:
    """One spelling per word: the variant table, then plurals, then the table again, then
    the inflection's stem ("hiking", "hiker", "hikes" and "hike" are all `hik`)."""
    if word in VARIANTS:
        term = VARIANTS[word]
    else:
        singular = _singular(word)
        term = VARIANTS.get(singular, singular)
    if term in FILLER_WORDS or term in STOPWORDS:
        return term  # dropped by the caller, whatever its ending
    return _stem(term)


# Words that look inflected but are not a doer or an activity (or whose stem would be
# another word's): left as they are.
_NOT_INFLECTED = _words(
    """
    spring string sibling darling pudding ceiling morning evening wedding viking king ring
    wing thing thanksgiving summer winter soccer sister brother daughter number paper
    super mister lover flower power tower letter river silver butter
    """
)
_SUFFIXES = ("ing", "ist", "er")


def _stem(word: str) -> str:
    """The stem an activity and its doer share: `-ing`, `-er` and `-ist` dropped (with a
    doubled last consonant: "running", "runner" → `run`), then a final `e` ("hike",
    "hiking" → `hik`). Stems are only compared with stems, so they need not be words."""
    if not word.isalpha() or word in _NOT_INFLECTED:
        return word
    for suffix in _SUFFIXES:
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3:
            if base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            word = base
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def _singular(word: str) -> str:
    """Light plural stemming: the regular English endings only, nothing clever."""
    if len(word) <= 3 or word in _NOT_PLURAL or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-1] if word[:-1] in _IE_SINGULARS else word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
