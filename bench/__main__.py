"""``python -m bench [--quick] [--only STAGE ...]``: every figure beside its baseline,
measured in the same run on the same broker and database; one table on stdout, JSON
and a chart under ``bench/results/``."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()  # the bench process talks RPC and AMQP the way the services do

import argparse
import logging
import sys
import time
import traceback
from dataclasses import dataclass, replace

from bench.environment import Environment
from bench.report import Report


@dataclass(frozen=True)
class Sizes:
    """How much work each stage does, and the CPU each scale-out replica may use;
    ``--quick`` keeps the whole run under two minutes on a quiet machine."""

    noop_events: int
    raw_events: int
    commit_seconds: float
    pipeline_tickets: int
    latency_seconds: float
    http_seconds: float
    volunteers: int
    import_replicas: int  # registry processes sharing the import's two calls in flight
    teams: int
    enterprises: int
    hour_entries: int
    query_samples: int
    scaleout_tickets: int
    scaleout_rounds: int  # each round drains once with one replica and once with two
    # The growth stage: one hour ledger grown in place from ``growth_from`` to ``growth_to``
    # entries, the pipeline drained ``growth_rounds`` times at each size.
    growth_from: int
    growth_to: int
    growth_tickets: int
    growth_rounds: int
    growth_warm_up: int
    growth_query_samples: int
    # The cluster stage: the pipeline's drain on a three-node RabbitMQ cluster beside the
    # single broker, ``cluster_rounds`` times each; 0 rounds skips it (--quick: the quick
    # bench runs inside `make test`, where three more Erlang nodes must not start).
    cluster_tickets: int
    cluster_rounds: int
    # The sign-up stage: ``signup_volunteers`` signed-in callers signing up at once through
    # the gateway for ``signup_activities`` activities, for ``http_seconds``.
    signup_volunteers: int
    signup_activities: int
    # activities replicas in the sign-up stage: 2 as deployed (deploy/compose replicas: 2,
    # deploy/k8s base replicas: 2 and KEDA's minimum); the quick run keeps one
    signup_replicas: int
    # Cores per hours replica in the scale-out stage (a pod's CPU limit; 0 = uncapped).
    # Two capped replicas, the broker and the database must fit in this 2-core machine
    # with room to spare (docs/performance.md, "Scale-out").
    replica_cpu_limit: float = 0.4


FULL = Sizes(
    noop_events=30_000,
    raw_events=60_000,
    commit_seconds=5,
    pipeline_tickets=5_000,
    latency_seconds=5,
    http_seconds=5,
    volunteers=173_000,
    import_replicas=2,
    teams=459,
    enterprises=3_000,
    hour_entries=10_000_000,
    query_samples=200,
    # 8,000 events a drain: at 1,000 tickets a capped replica drained in about a second,
    # five batches of 200 per handler, and the last batch's tail was a fifth of the window
    scaleout_tickets=4_000,
    scaleout_rounds=2,
    growth_from=10_000_000,
    growth_to=40_000_000,
    growth_tickets=3_000,
    growth_rounds=2,
    growth_warm_up=200,
    growth_query_samples=300,  # p99 is the third-slowest read, not one page miss
    cluster_tickets=2_000,
    cluster_rounds=2,
    signup_volunteers=200,
    signup_activities=60,
    signup_replicas=2,
)
QUICK = Sizes(
    noop_events=2_000,
    raw_events=5_000,
    commit_seconds=1,
    pipeline_tickets=300,
    latency_seconds=1.5,
    http_seconds=1.5,
    volunteers=5_000,
    import_replicas=2,
    teams=20,
    enterprises=60,
    hour_entries=100_000,
    query_samples=30,
    scaleout_tickets=300,
    scaleout_rounds=1,
    growth_from=10_000,
    growth_to=40_000,
    growth_tickets=150,
    growth_rounds=1,
    growth_warm_up=0,
    growth_query_samples=20,
    cluster_tickets=0,
    cluster_rounds=0,
    signup_volunteers=20,
    signup_activities=40,  # posts enough that no caller runs out inside the window on a quiet machine
    signup_replicas=1,
)

STAGES = ("baselines", "pipeline", "scaleout", "cluster", "gateway", "signups", "district", "ledger", "growth")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI (under two minutes)")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run only these stages")
    parser.add_argument(
        "--replica-cpu",
        type=float,
        metavar="CORES",
        help=f"CPU limit of each hours replica in the scale-out stage (default "
        f"{FULL.replica_cpu_limit:g}; 0 runs them uncapped)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    if args.replica_cpu is not None:
        sizes = replace(sizes, replica_cpu_limit=args.replica_cpu)
    report = Report("quick" if args.quick else "full")
    stages = args.only or STAGES
    began = time.perf_counter()
    with Environment.create() as env:
        from bench import stages as stage_functions

        for stage in STAGES:
            if stage not in stages:
                continue
            print(f"[bench] {stage} …", file=sys.stderr, flush=True)
            started = time.perf_counter()
            for attempt in (1, 2):
                try:
                    getattr(stage_functions, stage)(env, sizes, report)
                    break
                except Exception as exc:  # noqa: BLE001 - one broken stage must not hide the others
                    traceback.print_exc()
                    if attempt == 1 and _broker_or_database_away(exc):
                        # Other suites on this machine stop the broker now and then (chaos tests).
                        print(f"[bench] {stage}: connection lost; running the stage again", file=sys.stderr)
                        env.stop_all()
                        time.sleep(5)
                        continue
                    report.errors[stage] = f"{type(exc).__name__}: {exc}"
            report.details.setdefault("stage_seconds", {})[stage] = round(time.perf_counter() - started, 1)
    report.details["total_seconds"] = round(time.perf_counter() - began, 1)
    path = report.write()
    print(report.table())
    print(f"\nwritten {path} (total {report.details['total_seconds']} s)")
    return 1 if report.errors else 0


def _broker_or_database_away(exc: BaseException) -> bool:
    import amqp.exceptions
    import psycopg2
    from kombu.exceptions import OperationalError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            (ConnectionError, OperationalError, amqp.exceptions.ConnectionError, psycopg2.OperationalError, OSError),
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
