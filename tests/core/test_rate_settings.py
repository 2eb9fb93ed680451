"""The vendor rate settings are refused at start when they exceed Printify's caps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_the_defaults_sit_within_printifys_caps() -> None:
    settings = Settings()
    assert settings.printify_rate_per_second * 60 <= settings.printify_max_per_minute
    assert (settings.printify_catalog_per_minute, settings.printify_max_per_minute) == (100, 600)
    assert settings.printify_publishes_per_30_minutes == 200
    assert Settings(printify_rate_per_second=10).printify_rate_per_second == 10


def test_a_rate_above_the_per_minute_cap_is_refused_naming_both() -> None:
    with pytest.raises(ValidationError, match="PRINTIFY_RATE_PER_SECOND=11 is 660") as caught:
        Settings(printify_rate_per_second=11)
    assert "PRINTIFY_MAX_PER_MINUTE=600" in str(caught.value)
    with pytest.raises(ValidationError, match="PRINTIFY_MAX_PER_MINUTE=120"):
        Settings(printify_rate_per_second=5, printify_max_per_minute=120)


def test_a_catalog_cap_above_the_overall_cap_is_refused() -> None:
    with pytest.raises(ValidationError, match="PRINTIFY_CATALOG_PER_MINUTE=700"):
        Settings(printify_catalog_per_minute=700)


@pytest.mark.parametrize(
    "field",
    ["printify_rate_per_second", "etsy_rate_per_second", "integration_activities_per_second"],
)
def test_rates_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({field: 0})
