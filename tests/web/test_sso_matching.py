"""identity.sso on the real database, with the claims of an ID token already verified: the matching rules a
provider's pages cannot easily reach (clashing emails, a taken username, a malformed groups claim)."""

from __future__ import annotations

from processes.identity import sso
from processes.identity import users as identity

ISSUER = "https://login.example.org"
GROUPS = sso.GroupMap("groups", {"mace-referrers": (frozenset({"referrer"}), frozenset({"north"}))})


def claims(sub: str, **more) -> dict:
    return {"iss": ISSUER, "sub": sub, **more}


def test_two_users_with_the_email_match_neither(make_actor):
    make_actor("referrer", username="one", email="shared@example.org")
    make_actor("referrer", username="two", email="shared@example.org")
    result = sso.sign_in(claims("s1", email="shared@example.org", email_verified=True), sso.Rules())
    assert result.actor is None and result.refused == "more than one user has this email"


def test_a_user_matched_to_one_subject_is_not_taken_by_another_with_the_same_email(make_actor):
    make_actor("referrer", username="rowan", email="rowan@example.org")
    verified = {"email": "rowan@example.org", "email_verified": True}
    assert sso.sign_in(claims("first", **verified), sso.Rules()).actor.username == "rowan"
    second = sso.sign_in(claims("second", **verified), sso.Rules())
    assert second.actor is None and second.refused == "the user with this email is matched to another subject"
    assert identity.get_user("rowan").sso_subject == f"{ISSUER} first"


def test_an_email_not_marked_verified_matches_only_when_the_setting_trusts_it(make_actor):
    make_actor("referrer", username="sam", email="sam@example.org")
    unmarked = claims("entra-object-id", email="sam@example.org")
    assert sso.sign_in(unmarked, sso.Rules()).actor is None
    assert sso.sign_in(unmarked, sso.Rules(trust_email=True)).actor.username == "sam"


def test_a_new_user_from_groups_gets_a_free_username(make_actor):
    make_actor("referrer", username="kit", email="someone.else@example.org")
    result = sso.sign_in(claims("kit-at-provider", preferred_username="Kit", name="Kit Other",
                                groups=["mace-referrers"]), sso.Rules(GROUPS))
    assert result.actor.username == "kit-2" and result.actor.roles == frozenset({"referrer"})


def test_a_groups_claim_that_is_not_a_list_gives_nothing(area):
    result = sso.sign_in(claims("odd", groups="mace-referrers"), sso.Rules(GROUPS))
    assert result.actor is None and result.refused == "the groups claim gives no role or no area that exists"
