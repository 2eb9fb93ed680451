"""Choosing a listing's profiles from the seller's Etsy shop setup (domain.shop_setup)."""

from __future__ import annotations

from typing import Any

import pytest

from domain import errors
from domain.errors import DomainError
from domain.shop_setup import choose

NONE: dict[str, int | None] = {}


def details(error: DomainError) -> dict[str, Any]:
    assert error.details is not None
    return error.details


def setup(
    shipping: list[int], returns: list[int], readiness: list[int], country: str = "US"
) -> dict[str, Any]:
    return {
        "shop_id": 1,
        "country_iso": country,
        "shipping_profiles": [{"id": i, "title": f"S{i}"} for i in shipping],
        "return_policies": [{"id": i} for i in returns],
        "readiness_states": [{"id": i} for i in readiness],
    }


def test_the_shops_only_options_need_no_choice() -> None:
    assert choose(setup([1], [2], [3]), NONE, NONE) == {
        "shipping_profile_id": 1,
        "return_policy_id": 2,
        "readiness_state_id": 3,
    }


def test_the_template_wins_over_the_default() -> None:
    shop = setup([1, 11], [2, 12], [3, 13])
    defaults = {"shipping_profile_id": 1, "return_policy_id": 2, "readiness_state_id": 3}
    template = {"shipping_profile_id": 11, "return_policy_id": None, "readiness_state_id": 13}
    assert choose(shop, template, defaults) == {
        "shipping_profile_id": 11,
        "return_policy_id": 2,
        "readiness_state_id": 13,
    }


def test_several_options_without_a_choice_are_refused_naming_them() -> None:
    with pytest.raises(DomainError) as refused:
        choose(setup([1, 11], [2], [3, 13]), NONE, {"readiness_state_id": 13})
    assert refused.value.error is errors.ETSY_SETUP_CHOICE_REQUIRED
    options = details(refused.value)["options"]
    assert list(options) == ["shipping_profile_id"]
    assert [o["id"] for o in options["shipping_profile_id"]] == [1, 11]


def test_an_id_the_shop_does_not_have_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        choose(setup([1], [2], [3]), {"shipping_profile_id": 99}, NONE)
    assert refused.value.error is errors.ETSY_SETUP_UNKNOWN
    assert details(refused.value)["unknown"]["shipping_profile_id"]["id"] == 99


def test_a_missing_profile_is_refused_but_an_eu_shop_may_lack_a_return_policy() -> None:
    with pytest.raises(DomainError) as refused:
        choose(setup([1], [], [3]), NONE, NONE)
    assert refused.value.error is errors.ETSY_SETUP_MISSING
    assert details(refused.value)["missing"] == ["return policy"]
    with pytest.raises(DomainError) as no_processing:
        choose(setup([1], [], [], country="DE"), NONE, NONE)
    assert details(no_processing.value)["missing"] == ["processing profile"]
    assert choose(setup([1], [], [3], country="DE"), NONE, NONE)["return_policy_id"] is None
