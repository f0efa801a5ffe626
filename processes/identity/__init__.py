"""Who is acting: areas, users with roles and areas, API tokens, password and single sign-on, web sessions and
need-to-know access.

It imports the engine's database handle, clock, errors, audit and transactions, and nothing of the pathway.
"""
