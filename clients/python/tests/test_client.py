"""The client against the real server: decisions, every route, typed results, stable errors."""

from __future__ import annotations

import asyncio

import pytest

from conftest import AGENT, Server, write_policies
from ringfence import OPERATIONS, AsyncClient, Client, Decision, RingfenceError, RingfenceUnavailable


def test_decide_returns_typed_decisions(server):
    with Client(server.url) as client:
        allowed = client.decide(AGENT, "read_file", resource="/workspace/a.txt", params={"path": "/workspace/a.txt"})
        assert isinstance(allowed, Decision)
        assert allowed.allowed and allowed.decision == "allow" and allowed.code == "allow"
        assert (allowed.policy, allowed.rule, allowed.reason, allowed.ring) == ("tools", "read-workspace", "workspace files are readable", 2)
        denied = client.decide(AGENT, "read_file", resource="/workspace/secrets/key")
        assert not denied.allowed and denied.code == "deny_rule" and denied.rule == "no-secrets"
        default = client.decide(AGENT, "delete_file", resource="/workspace/a.txt")
        assert not default.allowed and default.code == "default" and default.rule is None


def test_operations_by_name_and_by_method(server):
    with Client(server.url) as client:
        created = client.session_create()
        session = created["session"]
        assert created["state"] == "handshaking" and session.startswith("session:")
        joined = client.session_join(session=session, agent="a1", trust=0.8)
        assert joined["ring"] == 2
        assert client.op("session.activate", session=session)["state"] == "active"
        decision = client.decide({"id": "a1"}, "read_file", resource="/workspace/x", session=session)
        assert decision.allowed
        with pytest.raises(RingfenceError) as raised:
            client.decide({"id": "stranger"}, "read_file", session=session)
        assert raised.value.code == "not_a_participant"
        with pytest.raises(RingfenceError) as raised:
            client.session_get(session="missing")
        assert (raised.value.code, raised.value.status) == ("session_not_found", 404)
        with pytest.raises(RingfenceError) as raised:
            client.op("no.such.op")
        assert raised.value.code == "unknown_op"
        appended = client.audit_append(kind="delta", data={"file": "/workspace/x"}, session=session)
        assert set(appended) == {"seq", "hash"}
        results = client.batch([{"op": "session.get", "session": session}, {"op": "nope"}])
        assert [r.ok for r in results] == [True, False]
        assert results[0].unwrap()["session"] == session
        with pytest.raises(RingfenceError):
            results[1].unwrap()
    assert {"session_create", "ledger_slash", "saga_start", "audit_checkpoint"} <= set(OPERATIONS)


def test_authzen_evaluate_and_evaluations(server):
    with Client(server.url) as client:
        one = client.evaluate({"type": "agent", "id": "a1", "properties": {"trust": 0.8}}, {"name": "read_file"},
                              {"type": "file", "id": "/workspace/a"})
        assert one.decision is True and one.code == "allow"
        items = [{"resource": {"type": "file", "id": "/workspace/a"}}, {"resource": {"type": "file", "id": "/workspace/secrets/k"}},
                 {"resource": {"type": "file", "id": "/workspace/b"}}]
        defaults = dict(subject={"type": "agent", "id": "a1", "properties": {"trust": 0.8}}, action={"name": "read_file"})
        assert [e.decision for e in client.evaluations(items, **defaults)] == [True, False, True]
        assert [e.decision for e in client.evaluations(items, semantic="deny_on_first_deny", **defaults)] == [True, False]
        assert [e.decision for e in client.evaluations(items, semantic="permit_on_first_permit", **defaults)] == [True]
        with pytest.raises(ValueError):
            client.evaluations(items, semantic="sometimes", **defaults)


def test_audit_reads_and_health(server):
    with Client(server.url) as client:
        client.decide(AGENT, "read_file", resource="/workspace/a")
        entries = client.audit_entries(0, 5)
        assert entries and entries[0]["seq"] == 0 and "hash" in entries[0]
        proof = client.audit_proof(entries[0]["seq"])
        assert set(proof) == {"entry", "proof", "checkpoint"}
        assert client.audit_checkpoint()["size"] >= 1
        assert client.health() and client.ready()
        assert client.reload()["policies"] == ["tools"]


def test_async_client(server):
    async def run():
        async with AsyncClient(server.url) as client:
            decisions = await asyncio.gather(*[client.decide(AGENT, "read_file", resource=f"/workspace/{i}") for i in range(20)])
            assert all(d.allowed for d in decisions)
            created = await client.session_create()
            assert created["state"] == "handshaking"
            with pytest.raises(RingfenceError) as raised:
                await client.session_get(session="missing")
            assert raised.value.code == "session_not_found"
            evaluation = await client.evaluate({"type": "agent", "id": "a"}, {"name": "web_search"})
            assert evaluation.decision
    asyncio.run(run())


def test_tokens_and_transport_failures(policies, tmp_path, unreachable_url):
    tokens = tmp_path / "tokens"
    tokens.write_text("secret-token-1\n")
    guarded = Server(["-p", str(policies), "--state", "memory:", "--token-file", str(tokens)])
    try:
        with Client(guarded.url) as anonymous:
            with pytest.raises(RingfenceError) as raised:
                anonymous.decide(AGENT, "read_file", resource="/workspace/a")
            assert (raised.value.code, raised.value.status) == ("unauthorized", 401)
        with Client(guarded.url, token="secret-token-1") as client:
            assert client.decide(AGENT, "read_file", resource="/workspace/a").allowed
    finally:
        assert guarded.stop() == 0
    with Client(unreachable_url, timeout=0.5) as client:
        with pytest.raises(RingfenceUnavailable) as raised:
            client.decide(AGENT, "read_file")
        assert raised.value.code == "unavailable"


def test_reload_failure_keeps_old_policies(tmp_path):
    folder = write_policies(tmp_path / "p")
    running = Server(["-p", str(folder), "--state", "memory:"])
    try:
        with Client(running.url) as client:
            assert client.decide(AGENT, "web_search").allowed
            (folder / "tools.yaml").write_text("ringfence: 1\nkind: policy\nname: tools\nrules: 12\n")
            with pytest.raises(RingfenceError) as raised:
                client.reload()
            assert raised.value.code == "reload_failed" and raised.value.details["diagnostics"]
            assert client.decide(AGENT, "web_search").allowed
    finally:
        assert running.stop() == 0
