"""The chaos test's moving parts: a bounded load of agents and approvers, and a supervisor that
restarts dead processes only where docker-compose.yml says a deployment would.

The load: each agent opens JIT requests at a steady rate; each request is given a fate at once
(approve, deny, cancel, or left to expire) that a decider carries out a moment later. Every HTTP
answer is recorded, so the test can say which calls, if any, got a 5xx or no answer at all.
"""

import heapq
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests import factories
from tests.integration.stack import ROOT, Proc, Stack

PERMISSION = "payments.authorize"
# (fate, weight): most requests are decided by a person; some are left to the expiry sweep.
FATES = [("approve", 45), ("deny", 20), ("cancel", 20), ("expire", 15)]


@dataclass
class Call:
    at: float  # time.time() when the answer came (or the connection failed)
    what: str  # create | approve | deny | cancel
    status: int  # 0: no HTTP answer at all
    detail: str = ""


@dataclass
class Load:
    base_url: str
    org: factories.OrgHandle
    bearers: list[dict[str, str]]  # one per agent
    approver: dict[str, str]
    seconds: float = 20.0
    per_second: float = 10.0
    calls: list[Call] = field(default_factory=list)
    created: dict[str, float] = field(default_factory=dict)  # request id → time.time()
    fates: dict[str, str] = field(default_factory=dict)
    _due: list[tuple[float, str, int]] = field(default_factory=list)  # (when, request id, agent)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=lambda: random.Random(14))  # noqa: S311

    def start(self) -> list[threading.Thread]:
        self._ends = time.monotonic() + self.seconds
        threads = [
            threading.Thread(target=self._agent, args=(n,)) for n in range(len(self.bearers))
        ]
        threads.append(threading.Thread(target=self._decider))
        for thread in threads:
            thread.daemon = True
            thread.start()
        return threads

    def fifth_hundreds(self) -> list[Call]:
        """Answers no client should ever see: a 5xx, or no answer at all."""
        with self._lock:
            return [c for c in self.calls if c.status == 0 or c.status >= 500]

    def _call(self, client: httpx.Client, what: str, method: str, url: str, **kw: Any) -> Any:
        try:
            resp = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self._note(Call(time.time(), what, 0, f"{type(exc).__name__}: {exc}"))
            return None
        detail = resp.text[:200] if resp.status_code >= 500 else ""
        self._note(Call(time.time(), what, resp.status_code, detail))
        return resp

    def _note(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _agent(self, n: int) -> None:
        interval = len(self.bearers) / self.per_second
        body = {"permission": PERMISSION, "justification": "chaos: pay invoice", "expires_in": "5m"}
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while time.monotonic() < self._ends:
                started = time.monotonic()
                operation = {"invoice": f"INV-{n}-{started:.3f}", "amount": 10}
                resp = self._call(
                    client, "create", "POST", f"{self.org.api}/jit/requests",
                    json={**body, "operation": operation}, headers=self.bearers[n],
                )  # fmt: skip
                if resp is not None and resp.status_code == 202:
                    self._schedule(resp.json()["request_id"], n)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))

    def _schedule(self, request_id: str, agent: int) -> None:
        with self._lock:
            fate = self._rng.choices([f for f, _ in FATES], [w for _, w in FATES])[0]
            self.created[request_id], self.fates[request_id] = time.time(), fate
            if fate != "expire":
                when = time.monotonic() + self._rng.uniform(0.2, 2.0)
                heapq.heappush(self._due, (when, request_id, agent))

    def _decider(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while time.monotonic() < self._ends + 3 or self._due:
                with self._lock:
                    ready = self._due and self._due[0][0] <= time.monotonic()
                    item = heapq.heappop(self._due) if ready else None
                if item is None:
                    time.sleep(0.02)
                    continue
                _, request_id, agent = item
                fate = self.fates[request_id]
                url = f"{self.org.api}/jit/requests/{request_id}/{fate}"
                if fate == "cancel":
                    self._call(client, fate, "POST", url, headers=self.bearers[agent])
                else:
                    self._call(client, fate, "POST", url, json={}, headers=self.approver)


def restart_policy(service: str) -> str | None:
    """What docker-compose.yml tells Docker to do when this service's process dies."""
    compose = yaml.safe_load(Path(ROOT, "docker-compose.yml").read_text())
    policy = compose.get("services", {}).get(service, {}).get("restart")
    return policy if policy in ("always", "unless-stopped", "on-failure") else None


@dataclass
class Supervisor:
    """Docker's part in the deployment: a process that dies is started again, if and only if
    docker-compose.yml gives its service a restart policy. Processes the test stops on purpose
    are marked `held` and left alone until the test starts them itself."""

    stack: Stack
    procs: dict[str, Proc]  # compose service name → its current process
    held: set[str] = field(default_factory=set)
    restarts: list[tuple[float, str]] = field(default_factory=list)
    died: list[tuple[float, str, str]] = field(default_factory=list)  # (when, service, last log)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "Supervisor":
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def replace(self, service: str, proc: Proc) -> None:
        self.procs[service] = proc
        self.held.discard(service)

    def _watch(self) -> None:
        recorded: set[int] = set()  # each dead process is reported once
        while not self._stop.wait(0.5):
            for service, proc in list(self.procs.items()):
                if service in self.held or proc.popen.poll() is None:
                    continue
                if id(proc) not in recorded:
                    recorded.add(id(proc))
                    self.died.append((time.time(), service, proc.output()[-600:]))
                if restart_policy(service):
                    self.procs[service] = self.stack.respawn(proc)
                    self.restarts.append((time.time(), service))

    def alive(self) -> dict[str, bool]:
        return {service: proc.popen.poll() is None for service, proc in self.procs.items()}
