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


def role_for_lane(lane: str | None) -> str | None:
    """'Hub practitioner' and 'hub_practitioner' both name the role hub_practitioner."""
    if not lane:
        return None
    code = "_".join(lane.strip().lower().replace("-", " ").split())
    return code if code in ROLES else None
