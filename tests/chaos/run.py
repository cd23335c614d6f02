"""`python -m tests.chaos.run [--short]`: the fault suite (see the package docstring).

The full run kills every service, then the NATS server, then the postmaster; `--short` (what CI
runs) kills the publisher, NATS and PostgreSQL under a lighter load. Between kills the load runs
until enough posts were accepted after the recovery, so every step sees traffic on both sides.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from crier.contracts.common import Platform
from tests.chaos import checks, setup
from tests.chaos.load import Load
from tests.chaos.receiver import Receiver
from tests.chaos.report import publish_lag, render, webhook_lag
from tests.chaos.steps import kill, warm_up
from tests.chaos.system import SERVERS, SERVICES, Crier, alive
from tests.support.simulator import start_simulator_process

PLATFORMS: list[Platform] = ["x", "mastodon", "bluesky", "linkedin"]


@dataclass(frozen=True)
class Plan:
    kills: tuple[str, ...]
    orgs: int
    rate: float  # posts a second
    clients: int
    posts_after_recovery: int  # accepted after each recovery before the next kill
    lead_s: float  # how far ahead scheduled posts are due (at least)
    settle_s: float  # for the accepted posts to be final, and their webhooks to arrive

    def describe(self) -> str:
        return f"{len(self.kills)} kills, {self.orgs} organizations × {len(PLATFORMS)} platforms, {self.rate:g} posts/s"


FULL = Plan((*SERVICES, *SERVERS), orgs=2, rate=5, clients=6, posts_after_recovery=30, lead_s=10, settle_s=180)
SHORT = Plan(("publisher", *SERVERS), orgs=1, rate=3, clients=4, posts_after_recovery=10, lead_s=5, settle_s=90)


@dataclass
class Outcome:
    ok: bool
    report: str


def run(plan: Plan, root: Path) -> Outcome:
    run_id, began = secrets.token_hex(3), time.monotonic()
    sim, receiver = start_simulator_process(via_cli=True), Receiver()
    crier: Crier | None = None
    try:
        crier = setup.start(root, sim)
        orgs = setup.organizations(crier, sim, receiver, plan.orgs, PLATFORMS)
        load = Load(crier.api_url, orgs, rate=plan.rate, clients=plan.clients, lead_s=plan.lead_s, run_id=run_id)
        loaded = time.monotonic()
        print(f"chaos run {run_id}: {plan.describe()}, against {crier.api_url}", file=sys.stderr, flush=True)
        load.start()
        try:
            steps = [warm_up(load, plan.posts_after_recovery)]
            steps += [kill(crier, load, n, name, plan.posts_after_recovery) for n, name in enumerate(plan.kills, 1)]
        finally:
            load.stop()
        stopped = time.monotonic()
        print(f"chaos: load stopped; waiting for {len(load.accepted)} posts", file=sys.stderr, flush=True)
        for number, step in enumerate(steps):
            step.accepted, step.errors = load.accepted_in(number), load.errors.get(number)
        # A stack that did not come back would be waited for in vain.
        recovered = all(step.recovered for step in steps) and crier.ready()
        posts = checks.settle(crier.api_url, load.accepted, plan.settle_s if recovered else 10)
        settled = time.monotonic()
        findings = [
            checks.all_published(load.accepted, posts),
            checks.published_once(load.accepted, posts, sim, run_id),
            checks.webhooks_arrived(load.accepted, receiver.received, timeout=30 if recovered else 5),
            checks.nothing_down(
                list(zip(plan.kills, [s.recovered for s in steps[1:]], strict=True)),
                crier.pids(),
                crier.restarts(),
                alive,
                crier.ready(),
            ),
        ]
        summary = "\n".join(
            [
                f"crier chaos run {run_id}: {plan.describe()}",
                f"{len(load.accepted)} posts accepted ({sum(a.replayed for a in load.accepted)} as the replay of "
                f"a lost answer), {load.abandoned} abandoned",
                f"start-up {loaded - began:.0f} s, load {stopped - loaded:.0f} s, until final "
                f"{settled - stopped:.0f} s, checks {time.monotonic() - settled:.0f} s",
                publish_lag(load.accepted, posts),
                webhook_lag(receiver.received()),
            ]
        )
        return Outcome(all(f.ok for f in findings), render(steps, findings, summary))
    finally:
        if crier is not None:
            crier.stop()
        receiver.stop()
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the CI version: publisher, NATS and PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="crier-chaos-"))
    try:
        outcome = run(SHORT if args.short else FULL, root)
    except BaseException:
        print(f"the run stopped; data directory and logs: {root}", file=sys.stderr, flush=True)
        raise
    print(outcome.report, flush=True)
    if args.keep or not outcome.ok:
        print(f"\ndata directory and logs: {root}", flush=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
