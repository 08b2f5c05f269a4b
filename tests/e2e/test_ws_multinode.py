"""WebSocket gateway scaled out (contract.md sections 1 and 3): two
`signalink gateway` processes (A, B) and one `signalink api`, sharing one
PostgreSQL database, one Redis and one SECRET_KEY.

Messages, typing, membership changes and presence cross nodes; a node killed
with SIGKILL has its users reported offline within REDIS_PRESENCE_TTL_MS and
its clients recover on the other node with since_seq; a Redis outage keeps
sends acked and stored, reports /health degraded, and is healed afterwards.

Needs redis-server and PostgreSQL 15 on the machine (skipped, saying which,
when either is missing). Redis comes from scripts/redis-start on a free port in
a scratch directory of its own; PostgreSQL from SIGNALINK_TEST_DATABASE_URL
when it names one, else from scripts/pg-start on a free port (stopped with
scripts/pg-stop at the end of the module)."""

import asyncio
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import (REPO_ROOT, RUN_ID, Api, NotifierServer, RoleServer, WsEnv, _psql, arun, check_msg_frame,
                      expect, free_port, metric_sum, poll_until)

PG_BIN = Path("/usr/lib/postgresql/15/bin/postgres")
HEARTBEAT_MS = 300
PRESENCE_TTL_MS = 1500


def _script(name: str) -> Path:
    path = REPO_ROOT / "scripts" / name
    if not path.is_file():
        pytest.fail(f"scripts/{name} is missing (the multi-node tests use it)", pytrace=False)
    return path


def _run_script(name: str, env_extra: dict, timeout: float = 120) -> str:
    env = dict(os.environ)
    env.update(env_extra)
    r = subprocess.run([str(_script(name))], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=REPO_ROOT)
    if r.returncode != 0:
        pytest.fail(f"scripts/{name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}",
                    pytrace=False)
    return r.stdout


def _last_value(output: str, key: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith(key + "="), f"no {key}= as the last line:\n{output}"
    return lines[-1][len(key) + 1:]


class Redis:
    """A throwaway redis-server from scripts/redis-start."""

    def __init__(self):
        self.port = free_port()
        self.scratch = f"/tmp/signalink-e2e-redis-{RUN_ID}-{self.port}"
        self.env = {"REDIS_PORT": str(self.port), "SIGNALINK_SCRATCH": self.scratch}
        self.url = ""

    def start(self) -> "Redis":
        self.url = _last_value(_run_script("redis-start", self.env, timeout=60), "REDIS_URL")
        assert self.url.startswith("redis://"), self.url
        assert str(self.port) in self.url, (self.port, self.url)
        return self

    def stop(self) -> None:
        _run_script("redis-stop", self.env, timeout=60)


@pytest.fixture(scope="module")
def pg_url():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    url = os.environ.get("SIGNALINK_TEST_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        yield url
        return
    if not PG_BIN.is_file():
        pytest.skip(f"PostgreSQL 15 is not installed ({PG_BIN} missing) and "
                    "SIGNALINK_TEST_DATABASE_URL names no PostgreSQL")
    env = {"PGPORT": str(free_port()), "SIGNALINK_SCRATCH": f"/tmp/signalink-e2e-pg-{RUN_ID}"}
    url = _last_value(_run_script("pg-start", env, timeout=180), "DATABASE_URL")
    try:
        yield url
    finally:
        _run_script("pg-stop", env, timeout=60)


@dataclass
class Cluster:
    redis: Redis
    api_srv: RoleServer
    a: WsEnv  # gateway A (REST through the api process)
    b: WsEnv  # gateway B

    @property
    def api(self) -> Api:
        return self.a.api


@pytest.fixture
def cluster(pg_url, start_role):
    """Redis, then `signalink api`, then gateways A and B (the API first: it
    applies the schema). Torn down in the reverse order, Redis last."""
    redis = Redis().start()
    common = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": secrets.token_hex(32),
        "REDIS_HEARTBEAT_MS": str(HEARTBEAT_MS),
        "REDIS_PRESENCE_TTL_MS": str(PRESENCE_TTL_MS),
    }
    servers: list[RoleServer] = []
    envs: list[WsEnv] = []
    api = None
    try:
        servers.append(start_role("mn-api", "api", NODE_ID=f"api-{RUN_ID}", **common))
        servers.append(start_role("mn-gw-a", "gateway", NODE_ID=f"a-{RUN_ID}", **common))
        servers.append(start_role("mn-gw-b", "gateway", NODE_ID=f"b-{RUN_ID}", **common))
        api = Api(servers[0])
        envs = [WsEnv(servers[1], api), WsEnv(servers[2], api)]
        for gw in envs:
            h = expect(gw.health(), 200).json()
            assert (h["status"], h["redis"], h["broker"]) == ("healthy", "connected", "redis"), h
        yield Cluster(redis, servers[0], envs[0], envs[1])
    finally:
        for env in envs:
            env.close()
        if api is not None:
            api.close()
        for srv in reversed(servers):
            srv.stop()
        redis.stop()


def _presence(frames):
    return [(f["user_id"], f["status"]) for f in frames if f["type"] == "presence.update"]


# --------------------------------------------------------------------------- #
# Fan-out across nodes
# --------------------------------------------------------------------------- #

def test_messages_cross_nodes(cluster):
    api = cluster.api
    owner, reader, writer = api.new_user("mno"), api.new_user("mnr"), api.new_user("mnw")
    ch = api.create_channel(owner)
    cid = ch["id"]
    api.add_member(cid, owner, writer)

    async def body():
        ra = await cluster.a.open(reader, label="reader on A")
        rb = await cluster.b.open(reader, label="reader on B")
        wb = await cluster.b.open(writer, label="writer on B")
        oa = await cluster.a.open(owner, label="owner on A")
        for c in (ra, rb, wb, oa):
            await c.subscribe(cid)

        # Sent through B over the WebSocket.
        ack = await wb.send_acked(cid, "from B")
        rec = await wb.recv_type("message.receive")
        assert rec["message_id"] == ack["message_id"]
        m1 = expect(api.get(f"/api/v1/messages/{ack['message_id']}", owner), 200).json()
        for c in (ra, rb, oa):
            check_msg_frame(await c.expect("message.receive"), m1)

        # Sent through A.
        ack2 = await oa.send_acked(cid, "from A")
        # The sender's own copy travels through Redis: it may come after the ack.
        for c in (ra, rb, wb, oa):
            f = await c.expect("message.receive")
            assert (f["message_id"], f["seq"]) == (ack2["message_id"], 2), f

        # Sent over REST (the api process).
        m3 = api.send(writer, cid, "from REST", client_msg_id="mn-rest")
        edited = expect(api.put(f"/api/v1/messages/{m3['id']}", writer,
                                json={"content": "from REST, edited"}), 200).json()
        expect(api.delete(f"/api/v1/messages/{m3['id']}", writer), 204)
        for c in (ra, rb, oa, wb):
            check_msg_frame(await c.expect("message.receive"), m3)
            check_msg_frame(await c.expect("message.updated"), edited, "message.updated")
            check_msg_frame(await c.expect("message.deleted"), edited, "message.deleted")

        # Typing crosses nodes, and skips the sender user's sockets everywhere.
        wa = await cluster.a.open(writer, label="writer on A")
        await wa.subscribe(cid)
        await wb.send({"type": "typing.start", "channel_id": cid})
        for c in (ra, rb, oa):
            f = await c.expect("typing.indicator")
            assert (f["user_id"], f["is_typing"]) == (writer.id, True), f
        await wa.silence(0.5, "(own typing, other node)")
        await wb.silence(0.1, "(own typing)")
        for c in (ra, rb, oa):
            await c.silence(0.1)

    arun(body())


def test_membership_end_crosses_nodes(cluster):
    api = cluster.api
    owner, member = api.new_user("mmo"), api.new_user("mmm")
    ch = api.create_channel(owner, private=True)
    cid = ch["id"]
    api.add_member(cid, owner, member)

    async def body():
        ma = await cluster.a.open(member, label="member on A")
        mb = await cluster.b.open(member, label="member on B")
        ob = await cluster.b.open(owner, label="owner on B")
        for c in (ma, mb, ob):
            await c.subscribe(cid)
        expect(api.delete(f"/api/v1/channels/{cid}/members/{member.id}", owner), 204)
        for c in (ma, mb):
            f = await c.expect("channel.unsubscribed")
            assert (f["channel_id"], f["reason"]) == (cid, "removed"), f
        m = api.send(owner, cid, "members only")
        check_msg_frame(await ob.expect("message.receive"), m)
        await ma.silence(0.5, "(removed)")
        await mb.silence(0.1, "(removed)")
        expect(api.delete(f"/api/v1/channels/{cid}", owner), 204)
        f = await ob.expect("channel.unsubscribed")
        assert f["reason"] == "deleted", f

    arun(body())


def test_presence_spans_nodes(cluster):
    api = cluster.api
    watcher, member, early = api.new_user("pnw"), api.new_user("pnm"), api.new_user("pne")
    ch = api.create_channel(watcher)
    cid = ch["id"]
    api.add_member(cid, watcher, member)
    api.add_member(cid, watcher, early)

    async def body():
        e = await cluster.b.open(early, label="early on B")  # online before the watcher
        w = await cluster.a.open(watcher, label="watcher on A")
        await w.subscribe(cid, presence=True)
        snap = _presence(await w.collect(0.8))
        assert sorted(snap) == sorted([(watcher.id, "online"), (early.id, "online")]), snap

        mb = await cluster.b.open(member, label="member on B")
        f = await w.expect("presence.update", timeout=5)
        assert (f["user_id"], f["status"]) == (member.id, "online"), f
        ma = await cluster.a.open(member, label="member on A")  # second socket, other node
        await w.silence(1.0, "(second socket on another node)")
        await mb.close()
        await w.silence(1.0, "(still online on A)")
        await ma.close()
        f = await w.expect("presence.update", timeout=5)
        assert (f["user_id"], f["status"]) == (member.id, "offline"), f
        await e.close()
        f = await w.expect("presence.update", timeout=5)
        assert (f["user_id"], f["status"]) == (early.id, "offline"), f

    arun(body())


# --------------------------------------------------------------------------- #
# A node dies
# --------------------------------------------------------------------------- #

def test_killed_node_users_go_offline_and_recover_on_other_node(cluster):
    api = cluster.api
    watcher, u1, u2 = api.new_user("kw"), api.new_user("ku1"), api.new_user("ku2")
    ch = api.create_channel(watcher)
    cid = ch["id"]
    for u in (u1, u2):
        api.add_member(cid, watcher, u)

    async def body():
        w = await cluster.a.open(watcher, label="watcher on A")
        await w.subscribe(cid, presence=True)
        await w.collect(0.3)
        on_b = {u1.id: await cluster.b.open(u1, label="u1 on B"),
                u2.id: await cluster.b.open(u2, label="u2 on B")}
        seen_online = set()
        while seen_online != {u1.id, u2.id}:
            f = await w.recv_type("presence.update", timeout=5)
            assert f["status"] == "online", f
            seen_online.add(f["user_id"])
        for c in on_b.values():
            await c.subscribe(cid)

        # Acknowledged sends from B before the crash.
        acked = []
        for i in range(5):
            for c in on_b.values():
                acked.append(await c.send_acked(cid, f"before crash {i}"))
        last_seen = {}
        for uid, c in on_b.items():
            frames = []
            while len(frames) < len(acked):
                frames.append(await c.recv_type("message.receive"))
            assert [f["seq"] for f in frames] == list(range(1, len(acked) + 1))
            last_seen[uid] = frames[-1]["seq"]
            c.pending.clear()
        w.pending.clear()

        cluster.b.server.proc.kill()  # SIGKILL: no goodbye to Redis
        t0 = time.monotonic()
        for c in on_b.values():
            c.abort()

        # While they are away: messages through A and through REST.
        away = []
        for i in range(6):
            if i % 2:
                away.append(api.send(watcher, cid, f"while away {i}")["id"])
            else:
                away.append((await w.send_acked(cid, f"while away {i}"))["message_id"])

        offline = set()
        while offline != {u1.id, u2.id}:
            f = await w.recv_type("presence.update", timeout=PRESENCE_TTL_MS / 1000 + 5)
            assert f["status"] == "offline", f
            offline.add(f["user_id"])
        elapsed = time.monotonic() - t0
        assert elapsed <= PRESENCE_TTL_MS / 1000 + 3.0, f"offline after {elapsed:.1f} s"

        # Every acknowledged message is stored.
        history = api.history(cid, watcher, limit=100)
        ids = [m["id"] for m in history]
        assert [a["message_id"] for a in acked] == ids[:len(acked)], "acked messages missing"
        assert ids[len(acked):] == away

        # They reconnect to A and recover with since_seq.
        for u in (u1, u2):
            c = await cluster.a.open(u, label=f"{u.username} back on A")
            f = await c.subscribe(cid, since_seq=last_seen[u.id])
            assert f["data"]["recovered"] is True, f
            got = [await c.expect("message.receive") for _ in range(len(away))]
            assert [x["message_id"] for x in got] == away
            assert [x["seq"] for x in got] == list(range(last_seen[u.id] + 1,
                                                          last_seen[u.id] + 1 + len(away)))
            await c.silence(0.3)
        # And the watcher sees them online again (now on A).
        back = set()
        while back != {u1.id, u2.id}:
            f = await w.recv_type("presence.update", timeout=5)
            assert f["status"] == "online", f
            back.add(f["user_id"])

    arun(body())


# --------------------------------------------------------------------------- #
# Redis goes away for 20 s
# --------------------------------------------------------------------------- #

def test_redis_outage_degrades_then_heals(cluster):
    api = cluster.api
    owner, reader = api.new_user("roo"), api.new_user("ror")
    ch = api.create_channel(owner)
    cid = ch["id"]
    problems = []  # later checks still run when an earlier one fails

    def poll_health(env: WsEnv, status: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = env.health()
            last = (r.status_code, r.text)
            if r.json().get("status") == status:
                return {"code": r.status_code, **r.json()}
            time.sleep(0.1)
        raise AssertionError(f"{env.server.name} /health not {status} within {timeout} s: {last}")

    async def body():
        sa = await cluster.a.open(owner, label="sender on A")
        ra = await cluster.a.open(reader, label="reader on A")
        rb = await cluster.b.open(reader, label="reader on B")
        for c in (ra, rb):
            await c.subscribe(cid)
        first = await sa.send_acked(cid, "before the outage")
        for c in (ra, rb):
            f = await c.expect("message.receive")
            assert f["message_id"] == first["message_id"], f

        cluster.redis.stop()
        t_stop = time.monotonic()
        for env in (cluster.a, cluster.b):
            h = poll_health(env, "degraded", 5.0)
            assert h["code"] == 503, h
            assert (h["redis"], h["broker"]) == ("disconnected", "redis"), h

        # Sends keep being acked and stored during the outage.
        sent = [first["message_id"]]
        rest_statuses = []
        i = 0
        while time.monotonic() - t_stop < 20:
            i += 1
            ack = await sa.send_acked(cid, f"during the outage {i}", timeout=10)
            sent.append(ack["message_id"])
            if i % 4 == 0:
                r = api.post("/api/v1/messages/", owner,
                             json={"channel_id": cid, "content": f"rest during outage {i}"})
                rest_statuses.append(r.status_code)
                if r.status_code == 201:
                    sent.append(r.json()["id"])
            await asyncio.sleep(1.0)
        history = [m["id"] for m in api.history(cid, owner, limit=100)]
        assert history == sent, "history during the outage differs from what was acked"
        if any(s != 201 for s in rest_statuses):
            problems.append(f"REST sends during the outage answered {rest_statuses} (want 201)")

        cluster.redis.start()
        t_back = time.monotonic()
        for env in (cluster.a, cluster.b):
            h = poll_health(env, "healthy", 10.0)
            assert h["code"] == 200 and h["redis"] == "connected", h
        healed_in = time.monotonic() - t_back
        if healed_in > 5:
            problems.append(f"/health healthy again only after {healed_in:.1f} s")

        # Live delivery resumes.
        live = await sa.send_acked(cid, "after the outage", timeout=10)
        sent.append(live["message_id"])
        want_seqs = list(range(1, len(sent) + 1))

        # Recovery with since_seq always works.
        rc = await cluster.b.open(reader, label="reader on B, resubscribing")
        f = await rc.subscribe(cid, since_seq=1)
        if f["data"]["recovered"] is not True:
            problems.append(f"since_seq after the outage: {f}")
        got = [await rc.expect("message.receive") for _ in range(len(sent) - 1)]
        assert [x["message_id"] for x in got] == sent[1:], "since_seq recovery after the outage"

        # The strongest: the subscribers that stayed connected got everything,
        # the outage's messages filled in from the store, in seq order, no
        # duplicates, ending with the live one.
        for c in (ra, rb):
            frames = []
            try:
                while not frames or frames[-1]["message_id"] != live["message_id"]:
                    frames.append(await c.recv_type("message.receive", timeout=10))
            except AssertionError as exc:
                problems.append(f"{c.label}: live message after the outage not received: "
                                f"{str(exc)[:300]}")
                continue
            seqs = [x["seq"] for x in frames]
            if seqs != want_seqs[1:]:
                problems.append(f"{c.label}: seqs after the outage {seqs}, want {want_seqs[1:]}")

        assert not problems, "\n".join(problems)

    arun(body(), timeout=120)


# --------------------------------------------------------------------------- #
# Authentication across processes
# --------------------------------------------------------------------------- #

def test_tickets_logout_and_stats_across_processes(cluster):
    api = cluster.api
    u, v = api.new_user("xa"), api.new_user("xb")
    other_session = api.login(u)

    async def body():
        # A ticket from the api process works on gateway B, once, anywhere.
        ticket = expect(api.post("/api/v1/users/ws-ticket", u), 201).json()["ticket"]
        tb = await cluster.b.open(ticket=ticket, label="u on B by ticket")
        await tb.ping()
        reuse = {"B": await cluster.b.refused_status(cluster.b.url(ticket=ticket)),
                 "A": await cluster.a.refused_status(cluster.a.url(ticket=ticket))}

        # /stats is per node.
        ua = await cluster.a.open(u, label="u on A")
        keep = await cluster.a.open(other_session, label="u's other session on A")
        vb = await cluster.b.open(v, label="v on B")
        sa, sb = cluster.a.stats(), cluster.b.stats()
        assert u.id in sa["users_online"] and v.id not in sa["users_online"], sa
        assert {u.id, v.id} <= set(sb["users_online"]), sb
        assert sa["total_connections"] == 2 and sb["total_connections"] == 2, (sa, sb)

        # Logout through the api process closes that session's sockets on
        # every gateway (REVOCATION_POLL_MS=300), and only those.
        expect(api.post("/api/v1/users/logout", u), 204)
        # (Whether the socket opened with a ticket minted by that session
        # closes too is not specified: tb is left alone.)
        t0 = time.monotonic()
        code = await ua.closed(timeout=5)
        assert code == 4001, f"close code {code} after {time.monotonic() - t0:.1f} s"
        deadline = time.monotonic() + 5
        for gw in (cluster.a, cluster.b):
            while await gw.refused_status(gw.url(u)) != 401:
                assert time.monotonic() < deadline, f"revoked token still accepted on {gw}"
                await asyncio.sleep(0.1)
        await keep.ping()
        await vb.ping()
        # Checked last, so that the rest runs either way.
        assert reuse == {"B": 401, "A": 401}, f"a used ticket was accepted again: {reuse}"

    arun(body())


# --------------------------------------------------------------------------- #
# The notifier as a process of its own
# --------------------------------------------------------------------------- #

@pytest.fixture
def own_pg_database(pg_url):
    """A database of its own on pg_url's server: a new consumer group reads the
    whole log, and the shared database has the history of the whole run."""
    name = f"sl_mn_{RUN_ID}_{secrets.token_hex(3)}"
    _psql(pg_url, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(pg_url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        _psql(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_separate_notifier_sees_viewers_and_sockets_of_every_node(own_pg_database, start_role,
                                                                   tmp_path_factory):
    """`signalink notifier` in its own process learns over Redis who looks at a
    channel on gateway B and who is connected on gateway A, and its
    notification.new frames reach A's socket through Redis."""
    redis = Redis().start()
    common = {"DATABASE_URL": own_pg_database, "REDIS_URL": redis.url, "SECRET_KEY": secrets.token_hex(32),
              "REDIS_HEARTBEAT_MS": str(HEARTBEAT_MS), "REDIS_PRESENCE_TTL_MS": str(PRESENCE_TTL_MS)}
    notifier = None
    servers: list[RoleServer] = []
    envs: list[WsEnv] = []
    api = None
    try:
        api_srv = start_role("mnn-api", "api", **common)
        gw_a = start_role("mnn-gw-a", "gateway", **common)
        gw_b = start_role("mnn-gw-b", "gateway", **common)
        servers = [api_srv, gw_a, gw_b]
        notifier = NotifierServer("mnn-notifier", tmp_path_factory.mktemp("signalink-mnn-notifier"), "notifier",
                                  {**common, "NOTIFY_COALESCE_MS": "500"})
        notifier.start()
        api = Api(api_srv)
        a, b = WsEnv(gw_a, api), WsEnv(gw_b, api)
        envs = [a, b]
        owner, bob, carol, dave = (api.new_user(p) for p in ("mnno", "mnnb", "mnnc", "mnnd"))
        cid = api.create_channel(owner)["id"]
        for u in (bob, carol, dave):
            api.add_member(cid, owner, u)

        def inbox(u):
            return expect(api.get("/api/v1/notifications/", u), 200).json()

        async def body():
            looking = await b.open(bob, label="bob on B")
            await looking.subscribe(cid)
            elsewhere = await a.open(carol, label="carol on A")
            msg = api.send(owner, cid, f"@{bob.username} @{carol.username} @{dave.username} look")
            frame = await elsewhere.expect("notification.new", timeout=10)
            note = frame["notification"]
            assert (note["type"], note["message_id"], note["actor_id"]) == ("mention", msg["id"], owner.id), frame
            # Dave has no socket anywhere: notified too.
            poll_until(lambda: len(inbox(dave)["items"]) == 1, 10, what="dave's notification")
            # Bob was looking on B: nothing, even after the notifier has handled the event.
            poll_until(lambda: metric_created(notifier) >= 2, 10, what="the notifier's counters")
            assert inbox(bob)["items"] == [], inbox(bob)
            assert [n["id"] for n in inbox(carol)["items"]] == [note["id"]]
            await looking.close()
            await elsewhere.close()

        arun(body())
    finally:
        for env in envs:
            env.close()
        if api is not None:
            api.close()
        if notifier is not None:
            notifier.stop()
        for srv in reversed(servers):
            srv.stop()  # before Redis goes (the fixture's stop later is a no-op)
        redis.stop()


def metric_created(srv: NotifierServer) -> float:
    text = httpx.get(srv.notifier_url + "/metrics", timeout=5).text
    return metric_sum(text, "signalink_notifications_total", outcome="created")
