"""The one page type of the API's lists: `{data, count}`.

Each list publishes its page under its own schema name, so a route declares a named
subclass (`class BriefPage(Page[BriefPublic]): pass`) rather than `Page[BriefPublic]`,
which the OpenAPI document would name `Page_BriefPublic_`. The subclasses carry no
docstring: pydantic would publish it as the schema's description.
"""

from __future__ import annotations

from pydantic import BaseModel


class Page[T](BaseModel):
    """One page of a list and the number of items in the whole list."""

    data: list[T]
    count: int
