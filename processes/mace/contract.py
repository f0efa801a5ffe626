"""The names the pathway's Python relies on in its diagrams and forms, declared once.

Deploy refuses a bundle that lacks one (see `check`), so a process owner who renames a step in a
modeller is told at once rather than finding a page broken later.
"""

BOOKING_VARIABLE = "mace1"  # the MACE 1 meeting a case is booked into, as the diagrams' book_mace1() gives it
OUTCOME_STEP = "mace1_outcome"  # completed once the meeting has discussed the case
