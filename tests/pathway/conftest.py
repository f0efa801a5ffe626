"""Fixtures of the pathway tests: the bundle to deploy (once as shipped, once with every timescale changed), a
person per role, and a child walked to its first MACE 1."""

from __future__ import annotations

import pytest

from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, SHIPPED, TO_MACE1, PathwayBundle, changed_bundle, child_on_pathway, walk


@pytest.fixture(scope="session", params=["shipped", "changed"])
def pathway_bundle(request, tmp_path_factory) -> PathwayBundle:
    """The shipped pathway, then a copy whose timescales.json has every timescale changed: a test asking for
    this runs on both, and works out what it expects from the timescales deployed."""
    if request.param == "shipped":
        return SHIPPED
    return changed_bundle(tmp_path_factory.mktemp("changed-timescales"))


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, south_support=person("business_support", areas=("south",)))


@pytest.fixture
def child(people, pathway_bundle):
    pathway_bundle.deploy()
    with child_on_pathway(people, MONDAY) as on_pathway:
        walk(on_pathway, TO_MACE1)
        yield on_pathway
