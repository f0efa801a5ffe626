"""schemathesis over the API's OpenAPI document, in process on the real app and database, every check on.

Every request is sent as a user holding every role in the north (a real user and token), so it gets past
authentication and the role checks. A few operations refuse data the document calls valid because the rule
is the pathway's or the caller's, not the document's: the areas one works in, a bundle that must parse, and
data checked against the pathway's own forms. Only those may answer 400 to valid data; nothing may answer
5xx or break the document anywhere.
"""

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.modes import GenerationMode

from processes.identity import users as identity
from processes.mace.roles import ROLES

API = "/api/v1"
EXAMPLES = 60  # per operation and mode: about 80 s in all on one core (SQLite), under two minutes on PostgreSQL
load_all_checks()
EVERY_CHECK = CHECKS.get_all()
BUSINESS_RULES = {f"POST {API}/definitions", f"POST {API}/cases", f"POST {API}/cases/{{case_id}}/instances",
                  f"POST {API}/cases/{{case_id}}/messages", f"POST {API}/tasks/{{task_id}}/complete",
                  f"POST {API}/referrals",
                  f"PUT {API}/cases/{{case_id}}/worker"}  # the worker must be an allocated worker of the case's area


@pytest.fixture
def bearer(make_actor, deploy) -> dict[str, str]:
    """A user of every role in the north, with the screening pathway deployed."""
    deploy("screening")
    actor = make_actor(*ROLES, username="sam-schemathesis")
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


def failures_of(error: Failure | FailureGroup) -> list[Failure]:
    return list(error.exceptions) if isinstance(error, FailureGroup) else [error]


def unsent(failure: Failure, case) -> bool:
    """schemathesis can make a query invalid by an extra parameter with no value (None or an empty list), which
    no URL carries: the request sent is valid, so accepting it is right."""
    if type(failure).__name__ != "AcceptedNegativeData":
        return False
    known = {parameter.name for parameter in case.operation.query}
    extra = {name: value for name, value in (case.query or {}).items() if name not in known}
    return bool(extra) and all(value is None or value == [] for value in extra.values())


def allowed(kind: str, label: str) -> bool:
    return kind == "RejectedPositiveData" and label in BUSINESS_RULES


def test_the_api_does_what_its_openapi_document_says(app, bearer):
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app, headers=bearer)
    found: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    requests, started = Counter(), time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.generate], database=None)
            def run(case):
                try:
                    response = case.call_and_validate(headers=bearer, checks=EVERY_CHECK)
                    requests[response.status_code] += 1
                except (Failure, FailureGroup) as error:
                    requests["failed"] += 1
                    for failure in failures_of(error):
                        if unsent(failure, case):
                            continue
                        key = (type(failure).__name__, case.operation.label)
                        found[key] += 1
                        examples.setdefault(key, f"{failure.title}: {failure.message[:300]}\n"
                                                 f"{case.as_curl_command()[:500]}")

            run()
    lines = [f"{n} x {kind} {label}{' (a business rule)' if allowed(kind, label) else ''}: "
             f"{examples[(kind, label)]}" for (kind, label), n in found.most_common()]
    print(f"\n{sum(requests.values())} requests in {time.monotonic() - started:.0f} s, by status: "
          f"{dict(sorted(requests.items(), key=str))}\n" + "\n".join(lines))
    broken = [line for ((kind, label), _), line in zip(found.most_common(), lines, strict=True)
              if not allowed(kind, label)]
    assert not broken, "\n".join(broken)
