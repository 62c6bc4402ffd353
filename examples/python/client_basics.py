"""The Ringfence client: a decision, a session, an AuthZEN evaluation, the audit log.

Run a server first:  ringfence serve -p examples/python/policies --state memory:
Then:                python examples/python/client_basics.py [URL]
"""

import sys

from ringfence import Client, RingfenceError

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"
agent = {"id": "research-agent", "trust": 0.8}

with Client(url) as client:
    decision = client.decide(agent, "read_file", resource="/workspace/report.md")
    print(f"read_file /workspace/report.md -> {decision.decision} ({decision.code}, rule {decision.rule})")
    decision = client.decide(agent, "read_file", resource="/workspace/secrets/api-key")
    print(f"read_file /workspace/secrets/api-key -> {decision.decision} ({decision.code}): {decision.reason}")

    session = client.session_create()["session"]
    client.session_join(session=session, agent="research-agent", trust=0.8)
    client.session_activate(session=session)
    decision = client.decide({"id": "research-agent"}, "web_search", params={"q": "ringfence"}, session=session)
    print(f"in {session}: web_search -> {decision.decision}")
    try:
        client.decide({"id": "stranger"}, "web_search", session=session)
    except RingfenceError as error:
        print(f"a stranger in {session}: refused with `{error.code}`")

    evaluation = client.evaluate({"type": "agent", "id": "research-agent", "properties": {"trust": 0.8}},
                                 {"name": "read_file"}, {"type": "file", "id": "/workspace/report.md"})
    print(f"AuthZEN evaluation -> decision {evaluation.decision} ({evaluation.code})")
    entries = client.audit_entries(0, 3)
    print(f"audit log: {len(entries)} of the first entries read; entry 0 is a `{entries[0]['kind']}`")
