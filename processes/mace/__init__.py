"""The MACE pathway's own rules: roles and policy, timescales and working days, cases and referrals,
drafts, the case file and diagrams, facts, alerts, MACE 1 meetings, oversight and the demo data.

It builds on `processes.engine` and `processes.identity`, registering on the engine's hooks in one
place (`processes.mace.plugin`); neither of those imports it.
"""
