"""One benchmark run: database, server, seeding, scenarios, janitor, report. Whatever
happens (errors, Ctrl-C), the server is stopped and a database this run created is dropped."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import driver, report, seed, wrk
from bench.baseline import ENDPOINTS as BASELINE_ENDPOINTS
from bench.baseline import Baseline
from bench.dbcpu import DatabaseCpu
from bench.flows import Target
from bench.janitor import JanitorRun
from bench.paths import REPO_ROOT
from bench.procfs import affinity, memory, process_tree
from bench.server import (
    HOST,
    AuthServer,
    BenchDatabase,
    BenchError,
    authserver_command,
    free_port_pair,
)

WRK_SCENARIOS = ("token", "introspect")


def log(message: str) -> None:
    print(f"bench [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _cpus(args) -> tuple[str | None, str]:
    """(server taskset list or None, load taskset list or '')."""
    if args.no_pin:
        return None, ""
    available = sorted(os.sched_getaffinity(0))
    server = {int(c) for c in re.split(r"[,\s]+", args.pin.strip()) if c}
    load = args.load_cpus
    if load is None:
        load = ",".join(str(c) for c in available if c not in server)
        if not load:
            log(f"only CPU(s) {available} available: the load shares the server's CPU")
    return args.pin, load


def _git() -> dict:
    def git(*argv: str) -> str:
        try:
            done = subprocess.run(
                ["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout

    changed = git("status", "--porcelain", "--", "authserver")  # "XY path" per line
    return {
        "commit": git("rev-parse", "HEAD").strip() or None,
        "authserver_modified": [line[3:] for line in changed.splitlines() if line.strip()],
    }


def _machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "loadavg_at_start": os.getloadavg()}


class Run:
    def __init__(self, args):
        self.args = args
        self.server_cpus, self.load_cpus = _cpus(args)
        self.harness_dir = Path(args.harness)
        found = (self.harness_dir / "bench.py").exists()
        self.harness = self.harness_dir if found and not args.no_harness else None
        if not found and not args.no_harness:
            log(f"no harness at {args.harness}: running wrk directly with bench/wrk_post.lua")
        self.results: list[dict] = []
        self.seeding: list[dict] = []
        self.janitor: list[dict] = []
        self.database: BenchDatabase | None = None
        self.server: AuthServer | None = None
        self.baseline: Baseline | None = None
        self.db_cpu: DatabaseCpu | None = None
        self.size: int | None = None

    # -- measuring ------------------------------------------------------------------------

    def _finish(self, result: dict, name: str, target: str, pid: int | None) -> dict:
        pids = process_tree(pid) if pid else []
        result.update(
            name=name,
            target=target,
            tokens_in_table=self.size if target == "authserver" else None,
            memory_after=memory(pids),
        )
        busy, server = result.get("machine_busy_pct"), result.get("server_cpu_pct")
        if result.get("other_cpu_pct") is None and busy and server is not None:
            load = result.get("load_cpu_pct") or 0.0
            result["other_cpu_pct"] = round(sum(busy.values()) - server - load, 1)
        start, end = result.get("window_start"), result.get("window_end")
        if self.db_cpu is not None and target == "authserver" and start and end and end > start:
            used = self.db_cpu.between(start, end)
            if used is not None:
                result["db_cpu_s"] = used
                result["db_cpu_pct"] = round(100.0 * used / (end - start), 1)
                if result.get("other_cpu_pct") is not None:
                    result["other_cpu_pct"] = round(
                        result["other_cpu_pct"] - result["db_cpu_pct"], 1
                    )
        if result.get("failed"):
            log(f"{name}: FAILED: {result['failed']}")
        else:
            log(
                f"{name}: {result['rate']:,.0f} {result['unit']}, p50 {result['p50_ms']} ms, "
                f"p99 {result['p99_ms']} ms, errors {result['errors']}"
            )
        self.results.append(result)
        return result

    def measure_wrk(self, scenario: str, name: str | None = None, warmup: int | None = None):
        assert self.server is not None
        endpoints = wrk.Endpoints(
            label="authserver",
            token_url=self.server.public_url + "/oauth2/token",
            introspect_url=self.server.admin_url + "/admin/oauth2/introspect",
            introspect_auth="none",
        )
        result = wrk.run(
            endpoints,
            scenario,
            harness=self.harness,
            server_pid=self.server.pid,
            load_cpus=self.load_cpus,
            concurrency=self.args.concurrency,
            duration=self.args.duration,
            warmup=self.args.warmup if warmup is None else warmup,
        )
        return self._finish(result, name or scenario, "authserver", self.server.pid)

    def measure_baseline(self, scenario: str, ours: dict) -> None:
        assert self.baseline is not None
        result = wrk.run(
            BASELINE_ENDPOINTS,
            scenario,
            harness=self.harness,
            server_pid=self.baseline.pid,
            load_cpus=self.load_cpus,
            concurrency=self.args.concurrency,
            duration=self.args.duration,
            warmup=self.args.warmup,
        )
        self._finish(result, f"{scenario} (oidc-provider)", "oidc-provider", self.baseline.pid)
        if result.get("rate"):
            ours["ratio_vs_baseline"] = round(ours["rate"] / result["rate"], 3)

    def measure_flows(self, scenario: str) -> None:
        assert self.server is not None
        target = Target(
            host=HOST,
            public_port=self.server.public_port,
            admin_port=self.server.admin_port,
            client_id=seed.CODE_CLIENT["client_id"],
            client_secret=seed.CODE_CLIENT["client_secret"],
            redirect_uri=seed.REDIRECT_URI,
        )
        cpus = {int(c) for c in self.load_cpus.split(",") if c} or None
        result = driver.run(
            scenario,
            target,
            concurrency=self.args.concurrency,
            procs=self.args.procs,
            load_cpus=cpus,
            warmup=self.args.warmup,
            duration=self.args.duration,
            server_pid=self.server.pid,
        )
        self._finish(result, scenario, "authserver", self.server.pid)

    # -- the janitor beside the load ------------------------------------------------------

    def measure_janitor(self) -> None:
        assert self.server is not None and self.database is not None
        scenario = self.args.janitor_scenario
        baseline = next(
            (
                r
                for r in reversed(self.results)
                if r["name"] == scenario and r["tokens_in_table"] == self.size
            ),
            None,
        ) or self.measure_wrk(scenario)
        from authserver.storage.database import Database

        database = Database(self.database.dsn)
        try:
            rows_before, expired_before = seed.table_counts(database)
        finally:
            database.dispose()
        # On the load CPUs: the janitor (a separate job in production) must not take the
        # server's core; what is measured is its effect through the database.
        pin = ["taskset", "-c", self.load_cpus] if self.load_cpus else []
        command = [*pin, *self.server.command, "janitor", self.database.dsn, "--tokens"]
        if self.args.janitor_batch_size:
            command += ["--batch-size", str(self.args.janitor_batch_size)]
        log(
            f"janitor: {expired_before:,} expired of {rows_before:,} rows; "
            f"{scenario} load beside it"
        )
        janitor = JanitorRun(command, self.server.env())
        try:
            result = self.measure_wrk(scenario, name=f"{scenario} + janitor", warmup=0)
        except BaseException:
            janitor.kill()
            raise
        entry = janitor.wait()
        window = result.get("duration_s") or self.args.duration
        elapsed = entry["elapsed_s"]
        entry.update(
            tokens_in_table=self.size,
            scenario=scenario,
            rows_before=rows_before,
            expired_before=expired_before,
            window_s=window,
            overlap_pct=round(100.0 * min(elapsed, window) / window, 1) if window else 0.0,
            rate_with=result.get("rate"),
            rate_without=baseline.get("rate"),
            rate_ratio=_ratio(result.get("rate"), baseline.get("rate")),
            p99_ratio=_ratio(result.get("p99_ms"), baseline.get("p99_ms")),
        )
        result["janitor"] = entry
        self.janitor.append(entry)
        log(f"janitor: exit {entry['exit']}, removed {entry['removed']} in {elapsed:.1f} s")

    # -- the whole run --------------------------------------------------------------------

    def execute(self) -> dict:
        args = self.args
        workdir = tempfile.mkdtemp(prefix="benchcmd-run-")
        record: dict = {"error": None}
        try:
            if args.compare:
                self.baseline = Baseline.ensure(self.harness_dir, self.server_cpus)
                log(
                    f"oidc-provider pid {self.baseline.pid} "
                    f"(started here: {self.baseline.started_here})"
                )
            self.database = BenchDatabase.open(args.dsn, args.keep_db, args.pg_server)
            public, admin = free_port_pair(args.port)
            self.server = AuthServer(
                command=authserver_command(args.authserver),
                dsn=self.database.dsn,
                public_port=public,
                admin_port=admin,
                workdir=workdir,
                serve_args=list(args.serve_arg),
                pin_cpus=self.server_cpus,
                extra_env=dict(args.env),
            )
            log(f"database: {self.database.describe()}; migrating")
            self.server.migrate()
            log(f"starting: {' '.join(self.server.serve_command())} (ports {public}/{admin})")
            self.server.start()
            if self.database.kind == "postgres":
                self.db_cpu = DatabaseCpu(self.database.dsn)
                self.db_cpu.start()
            seed.create_clients(self.server.admin_url, self.args.id_token_alg)
            self._scenarios()
        except KeyboardInterrupt:
            record["error"] = "interrupted (Ctrl-C)"
        except (BenchError, wrk.LoadError, RuntimeError, OSError) as exc:
            record["error"] = str(exc)
        finally:
            if self.db_cpu is not None:
                self.db_cpu.stop()
            record.update(self._record())
            if self.server is not None:
                record["server_stop"] = self.server.stop()
                if record["error"]:
                    log(f"authserver log (last lines):\n{self.server.log_tail()}")
            if self.baseline is not None:
                self.baseline.stop()
            if self.database is not None:
                self.database.close()
            if record["error"] or any(r.get("errors") for r in self.results):
                record["server_log"] = str(self.server.log_path) if self.server else None
                log(f"kept the server log: {record['server_log']}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        return record

    def _scenarios(self) -> None:
        args = self.args
        fraction = args.expired_fraction if args.janitor else 0.0
        for size in args.tokens:
            assert self.database is not None
            log(f"seeding the access token table up to {size:,} rows")
            self.seeding.append(seed.seed_tokens(self.database.dsn, size, fraction))
            self.size = size
            for scenario in (s for s in args.scenarios if s in WRK_SCENARIOS):
                ours = self.measure_wrk(scenario)
                if self.baseline is not None:
                    self.measure_baseline(scenario, ours)
            if args.janitor:
                self.measure_janitor()
        for scenario in (s for s in args.scenarios if s not in WRK_SCENARIOS):
            self.measure_flows(scenario)

    def _record(self) -> dict:
        args = self.args
        server = self.server
        pid = server.pid if server and server.process else None
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": _git(),
            "machine": _machine(),
            "settings": {
                "argv": sys.argv[1:],
                "dsn_kind": self.database.kind if self.database else None,
                "dsn": self.database.dsn if self.database else None,
                "tokens": args.tokens,
                "scenarios": args.scenarios,
                "concurrency": args.concurrency,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "serve_args": args.serve_arg,
                "id_token_alg": args.id_token_alg,
                "server_env": dict(args.env),
                "server_cpus": self.server_cpus,
                "load_cpus": self.load_cpus,
                "procs": args.procs,
                "harness": str(self.harness) if self.harness else None,
                "compare": args.compare,
                "janitor": args.janitor,
                "expired_fraction": args.expired_fraction if args.janitor else 0.0,
            },
            "server": {
                "command": server.serve_command() if server else None,
                "pid": pid,
                "affinity": affinity(pid) if pid else None,
                "started_in_s": server.started_in_s if server else None,
                "processes": len(process_tree(pid)) if pid else 0,
            },
            "baseline": (
                {"pid": self.baseline.pid, "started_here": self.baseline.started_here}
                if self.baseline
                else None
            ),
            "seeding": self.seeding,
            "results": self.results,
            "janitor": self.janitor,
            "growth": self._growth(),
        }

    def _growth(self) -> list[dict]:
        out = []
        for scenario in WRK_SCENARIOS:
            by_size = {
                r["tokens_in_table"]: r
                for r in self.results
                if r["name"] == scenario and r["target"] == "authserver" and r.get("rate")
            }
            if len(by_size) < 2:
                continue
            small, large = by_size[min(by_size)], by_size[max(by_size)]
            out.append(
                {
                    "scenario": scenario,
                    "small": min(by_size),
                    "large": max(by_size),
                    "rate_ratio": _ratio(large["rate"], small["rate"]),
                    "cpu_ratio": _ratio(report.cpu_ms_per_op(large), report.cpu_ms_per_op(small)),
                    "p50_ratio": _ratio(large.get("p50_ms"), small.get("p50_ms")),
                }
            )
        return out


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a and b else None


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def execute(args) -> int:
    # SIGTERM to the benchmark unwinds like Ctrl-C, so the server is stopped all the same.
    signal.signal(signal.SIGTERM, _interrupt)
    record = Run(args).execute()
    print(report.render(record))
    if record["error"]:
        print(f"\nbench: stopped early: {record['error']}", file=sys.stderr)
    if args.json_out:
        report.append_json(args.json_out, record)
        log(f"appended this run to {args.json_out}")
    return 1 if record["error"] else 0
