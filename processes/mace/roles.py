"""The pathway's roles (PATHWAY.md), and how a BPMN lane name maps to one."""

ROLES: dict[str, str] = {
    "referrer": "Referrer",
    "hub_practitioner": "Hub practitioner",
    "allocated_worker": "Allocated worker",
    "team_manager": "Team manager",
    "ric_senior_practitioner": "RIC senior practitioner",
    "mace_chair": "MACE chair",
    "core_member": "Core member",
    "business_support": "Business support",
    "missing_coordinator": "Missing coordinator",
    "process_owner": "Process owner",
    "admin": "Administrator",
    "auditor": "Information governance officer",
}


# One person holding the role, where "a" or "an" before its label would read wrongly.
ONE_HOLDER: dict[str, str] = {"business_support": "someone in business support"}


def in_sentence(role: str) -> str:
    """The role's label inside a sentence: lower case, keeping acronyms ("RIC senior practitioner")."""
    words = ROLES.get(role, role.replace("_", " ")).split()
    return " ".join(word if word.isupper() else word.lower() for word in words)


def one_holder(role: str) -> str:
    """One person holding the role, in a sentence: "an allocated worker", "a MACE chair"."""
    if role in ONE_HOLDER:
        return ONE_HOLDER[role]
    name = in_sentence(role)
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def role_for_lane(lane: str | None) -> str | None:
    """'Hub practitioner' and 'hub_practitioner' both name the role hub_practitioner."""
    if not lane:
        return None
    code = "_".join(lane.strip().lower().replace("-", " ").split())
    return code if code in ROLES else None
