"""Who runs a tournament: the run lease's identity, its liveness and staleness rules.

A runner is ``host:pid:nonce``. Its lease is stale when its heartbeat is older than `LEASE_TTL`, or at once
when the runner is a dead process on this host (kill -9 then resume needs no wait). Hosts sharing a
database need clocks agreeing to well within the TTL (NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

LEASE_TTL = timedelta(seconds=30)
"""A lease whose heartbeat is older than this is considered abandoned."""
HEARTBEAT_INTERVAL_S = 2.0
"""How often a runner renews its heartbeat and looks for a cancel request."""


@dataclass(frozen=True, slots=True)
class Runner:
    host: str
    pid: int
    nonce: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.nonce}"

    @property
    def display(self) -> str:
        """``host:pid``, for messages."""
        return f"{self.host}:{self.pid}"


def new_runner() -> Runner:
    """An identity for this process's run (the nonce tells two runs of one process apart)."""
    return Runner(socket.gethostname(), os.getpid(), secrets.token_hex(4))


def parse_runner(value: str) -> Runner | None:
    host, _, rest = value.rpartition(":")
    host, _, pid = host.rpartition(":")
    if not host or not pid.isdigit():
        return None
    return Runner(host, int(pid), rest)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def lease_is_live(runner: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether a lease still belongs to a running process (False for no lease at all)."""
    if runner is None:
        return False
    if heartbeat_at is None or now - heartbeat_at > LEASE_TTL:
        return False
    parsed = parse_runner(runner)
    if parsed is not None and parsed.host == socket.gethostname():
        return process_alive(parsed.pid)
    return True


def describe_lease(runner: str, heartbeat_at: datetime | None, now: datetime) -> str:
    """``host:123 (heartbeat 3 s ago)``."""
    parsed = parse_runner(runner)
    who = parsed.display if parsed is not None else runner
    if heartbeat_at is None:
        return f"{who} (no heartbeat)"
    return f"{who} (heartbeat {max(0, round((now - heartbeat_at).total_seconds()))} s ago)"
