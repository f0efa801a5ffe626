"""Fixtures of the pathway tests: the bundle to deploy, once as shipped and once with every timescale changed."""

from __future__ import annotations

import pytest

from tests.support.pathway import SHIPPED, PathwayBundle, changed_bundle


@pytest.fixture(scope="session", params=["shipped", "changed"])
def pathway_bundle(request, tmp_path_factory) -> PathwayBundle:
    """The shipped pathway, then a copy whose timescales.json has every timescale changed: a test asking for
    this runs on both, and works out what it expects from the timescales deployed."""
    if request.param == "shipped":
        return SHIPPED
    return changed_bundle(tmp_path_factory.mktemp("changed-timescales"))
