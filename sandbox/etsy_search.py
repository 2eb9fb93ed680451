"""findAllListingsActive for the Etsy emulator: Etsy-wide search, as far as it can be faked.

The emulator's own active listings whose title holds every keyword come first; behind
them stand synthetic listings of other shops, as many as a hash of the keywords says
(fewer for longer searches), each with a price, favourers and a creation date derived
from the keywords and its position. The same keywords always give the same answer.
`limit` (1-100, default 25) and `offset` page through both; `sort_on`/`sort_order` are
checked against Etsy's values, and the relevance order (`score`) is the only one kept
across pages (other orders sort within the page).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from fastapi import Request

from sandbox.etsy_rules import EtsyError, query_int

if TYPE_CHECKING:
    from sandbox.etsy import EtsyState

SORT_ON = frozenset({"created", "price", "updated", "score"})
SORT_ORDER = frozenset({"asc", "ascending", "desc", "descending", "up", "down"})
SYNTHETIC_IDS_FROM = 900_000_000  # below the emulator's own listing ids
REFERENCE_TIME = 1_750_000_000  # synthetic listings date back from here, not from "now"
_STYLES = ("T-Shirt", "Sweatshirt", "Mug", "Tote Bag", "Hoodie", "Sticker", "Poster")
_ANGLES = ("Gift for Her", "Funny Gift", "Birthday Gift", "Trendy Design", "Custom Gift")


def _hash(*parts: object) -> int:
    seed = "|".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")


def search_words(keywords: str) -> list[str]:
    """The words a search matches on: lower case letters and digits, each once, sorted."""
    return sorted(set(re.findall(r"[a-z0-9]+", keywords.lower())))


def synthetic_count(words: list[str]) -> int:
    """How many other shops' listings match: stable per search, fewer for longer ones."""
    if not words:
        return 1_000_000
    return (800 + _hash("count", *words) % 60_000) // 2 ** (len(words) - 1)


def synthetic_listing(words: list[str], position: int, public_url: str) -> dict[str, Any]:
    """The synthetic listing at `position` of a search (the same every time)."""
    seed = _hash("listing", *words, position)
    listing_id = SYNTHETIC_IDS_FROM + seed % 99_999_999
    style, angle = _STYLES[seed % len(_STYLES)], _ANGLES[(seed >> 8) % len(_ANGLES)]
    created = REFERENCE_TIME - (seed >> 16) % (720 * 86_400)
    favorers = (seed >> 24) % 400 if position % 7 else (seed >> 24) % 5_000  # a few hits
    return {
        "listing_id": listing_id,
        "shop_id": 20_000_000 + (seed >> 32) % 10_000_000,
        "title": f"{' '.join(words).title()} {style}, {angle}",
        "state": "active",
        "url": f"{public_url}/etsy/listing/{listing_id}",
        "price": {"amount": 1499 + (seed >> 40) % 2500, "divisor": 100, "currency_code": "USD"},
        "num_favorers": favorers,
        "quantity": 999,
        "tags": words[:13],
        "created_timestamp": created,
        "creation_timestamp": created,
        "updated_timestamp": created,
        "last_modified_timestamp": created,
    }


def listing_order(request: Request) -> tuple[str, bool]:
    """The checked `sort_on` (default `created`) and whether `sort_order` is ascending."""
    query = request.query_params
    sort_on, sort_order = query.get("sort_on", "created"), query.get("sort_order", "desc")
    if sort_on not in SORT_ON:
        raise EtsyError.field("sort_on", f"{sort_on!r} is not one of {sorted(SORT_ON)}.")
    if sort_order not in SORT_ORDER:
        raise EtsyError.field("sort_order", f"{sort_order!r} is not a sort order.")
    return sort_on, sort_order in ("asc", "ascending", "up")


def find_all_listings_active(state: EtsyState, request: Request) -> dict[str, Any]:
    """`{count, results}` of active listings matching `keywords` (see the module docstring)."""
    query = request.query_params
    limit = query_int(request, "limit", 25, 1, 100)
    offset = query_int(request, "offset", 0, 0, 10**6)
    sort_on, ascending = listing_order(request)
    words = search_words(query.get("keywords", ""))
    own = [
        row
        for row in state.listings.values()
        if row["state"] == "active" and all(w in row["title"].lower() for w in words)
    ]
    own.sort(key=lambda row: (row["created_timestamp"], row["listing_id"]), reverse=True)
    count = len(own) + synthetic_count(words)
    results = [state.listing(row) for row in own[offset : offset + limit]]
    first = max(0, offset - len(own))
    last = min(count - len(own), offset + limit - len(own))
    public_url = state.config.public_url
    results += [synthetic_listing(words, index, public_url) for index in range(first, last)]
    if sort_on != "score":
        field = {"created": "created_timestamp", "updated": "updated_timestamp"}.get(sort_on)
        results.sort(
            key=lambda item: item["price"]["amount"] if field is None else item[field],
            reverse=not ascending,
        )
    return {"count": count, "results": results}
