"""Closed-loop load for the scenarios wrk cannot drive (``authcode``, ``refresh``).

Worker processes (forked, pinned to the load CPUs) each run a few threads; every thread
runs one flow or grant after the other, so ``concurrency`` operations are in flight in
total. All workers first bootstrap (a refresh chain needs a refresh token), report ready,
and then get one shared wall-clock window: operations finished during the warm-up are
discarded, those finished inside [start, end) are counted.

``refresh`` keeps one rotation chain per thread: every request presents the refresh token
the previous response just returned, so each token is used exactly once (reusing one would
revoke the whole grant) and the supply never runs out. A failed refresh breaks the chain:
the thread counts the error and starts a new grant with an authorization-code flow (its
time stays in the window); if even that fails the thread stops, and if every thread stopped
the window is cut at the last stop and reported as shorter.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from bench.flows import TIMEOUT, FlowFailure, Http, Target, authorization_code_flow, refresh
from bench.procfs import TreeSampler

BOOTSTRAP_TIMEOUT = 120
MAX_REASONS = 5
UNITS = {"authcode": "flows/s", "refresh": "req/s"}


@dataclass
class _ThreadState:
    http: Http | None = None
    refresh_token: str | None = None
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    errors_outside: int = 0
    reasons: list[str] = field(default_factory=list)
    stopped_at: float | None = None
    bootstrap_error: str | None = None

    def note(self, reason: str) -> None:
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)


def _bootstrap(mode: str, target: Target, state: _ThreadState) -> None:
    state.http = Http(target.host)
    if mode == "refresh":
        try:
            state.refresh_token = authorization_code_flow(state.http, target)["refresh_token"]
        except FlowFailure as exc:
            state.bootstrap_error = str(exc)


def _loop(mode: str, target: Target, start: float, end: float, state: _ThreadState) -> None:
    while time.time() < end:
        began = time.perf_counter()
        reason = None
        try:
            if mode == "authcode":
                authorization_code_flow(state.http, target)
            else:
                state.refresh_token = refresh(state.http, target, state.refresh_token)[
                    "refresh_token"
                ]
        except FlowFailure as exc:
            reason = str(exc)
        elapsed = time.perf_counter() - began
        if start <= time.time() < end:
            if reason is None:
                state.latencies.append(elapsed)
            else:
                state.errors += 1
        elif reason is not None:
            state.errors_outside += 1
        if reason is None:
            continue
        state.note(reason)
        if mode == "refresh":  # the chain is broken: start a new grant
            try:
                state.refresh_token = authorization_code_flow(state.http, target)["refresh_token"]
            except FlowFailure as exc:
                state.note(f"new grant after a failed refresh: {exc}")
                state.stopped_at = time.time()
                return


def _run_threads(function, states: list[_ThreadState], *args) -> None:
    threads = [threading.Thread(target=function, args=(*args, s), daemon=True) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _worker(pipe, mode: str, target: Target, threads: int, cpus: set[int] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (Ctrl-C reaches both)
    if cpus:
        os.sched_setaffinity(0, cpus)
    states = [_ThreadState() for _ in range(threads)]
    _run_threads(_bootstrap, states, mode, target)
    pipe.send({"bootstrap_errors": [s.bootstrap_error for s in states if s.bootstrap_error]})
    go = pipe.recv()
    if go is None:
        return
    start, end = go["start"], go["end"]
    live = [s for s in states if not s.bootstrap_error]
    cpu = {}

    def sample_cpu():
        time.sleep(max(0.0, start - time.time()))
        cpu["start"] = time.process_time()
        time.sleep(max(0.0, end - time.time()))
        cpu["end"] = time.process_time()

    sampler = threading.Thread(target=sample_cpu, daemon=True)
    sampler.start()
    _run_threads(_loop, live, mode, target, start, end)
    sampler.join()
    for state in states:
        if state.http:
            state.http.close()
    pipe.send(
        {
            "latencies": [x for s in live for x in s.latencies],
            "errors": sum(s.errors for s in live),
            "errors_outside": sum(s.errors_outside for s in live),
            "reasons": [r for s in live for r in s.reasons][:MAX_REASONS],
            "stopped_at": [s.stopped_at for s in live],
            "cpu_s": cpu.get("end", 0.0) - cpu.get("start", 0.0),
        }
    )


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), round(pct / 100.0 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(
    mode: str,
    target: Target,
    *,
    concurrency: int,
    procs: int,
    load_cpus: set[int] | None,
    warmup: float,
    duration: float,
    server_pid: int,
) -> dict:
    """Drive ``mode`` and return its figures (rate, latencies, errors, server CPU)."""
    context = multiprocessing.get_context("fork")
    workers = []
    try:
        for threads in _split(concurrency, procs):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker, args=(child_end, mode, target, threads, load_cpus), daemon=True
            )
            process.start()
            workers.append((process, parent_end))
        bootstrap_errors = []
        deadline = time.monotonic() + BOOTSTRAP_TIMEOUT
        for _process, pipe in workers:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"{mode}: workers not ready within {BOOTSTRAP_TIMEOUT} s")
            bootstrap_errors += pipe.recv()["bootstrap_errors"]
        if len(bootstrap_errors) >= concurrency:
            for _process, pipe in workers:
                pipe.send(None)
            return {
                "scenario": mode,
                "driver": "python",
                "failed": f"every thread failed to bootstrap: {bootstrap_errors[0]}",
                "errors": len(bootstrap_errors),
                "error_samples": bootstrap_errors[:MAX_REASONS],
            }
        start = time.time() + 0.2 + warmup
        end = start + duration
        for _process, pipe in workers:
            pipe.send({"start": start, "end": end})
        sampler = TreeSampler(server_pid)
        time.sleep(max(0.0, start - time.time()))
        sampler.start()
        time.sleep(max(0.0, end - time.time()))
        server = sampler.stop()
        results = []
        deadline = time.monotonic() + 7 * TIMEOUT
        for _process, pipe in workers:
            if pipe.poll(max(0.0, deadline - time.monotonic())):
                results.append(pipe.recv())
    finally:
        for process, _pipe in workers:
            if process.is_alive():
                process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
    return _summarise(mode, results, len(workers), bootstrap_errors, start, end, server)


def _summarise(mode, results, worker_count, bootstrap_errors, start, end, server) -> dict:
    latencies = sorted(x for r in results for x in r["latencies"])
    stops = [s for r in results for s in r["stopped_at"]]
    window = end - start
    cut = None
    if stops and all(s is not None for s in stops) and max(stops) < end:
        cut = max(stops)
        window = max(0.001, cut - start)
    count = len(latencies)
    errors = sum(r["errors"] for r in results) + len(bootstrap_errors)
    reasons = bootstrap_errors + [x for r in results for x in r["reasons"]]
    if len(results) < worker_count:
        reasons.append(f"{worker_count - len(results)} worker(s) sent no result in time")
    return {
        "scenario": mode,
        "driver": "python",
        "unit": UNITS[mode],
        "duration_s": round(window, 3),
        "window_cut_short": cut is not None,
        "count": count,
        "rate": round(count / window, 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p90_ms": _ms(percentile(latencies, 90)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "mean_ms": _ms(sum(latencies) / count if count else None),
        "errors": errors,
        "errors_outside_window": sum(r["errors_outside"] for r in results),
        "error_samples": reasons[:MAX_REASONS],
        "bootstrap_errors": len(bootstrap_errors),
        "load_cpu_pct": round(100.0 * sum(r["cpu_s"] for r in results) / (end - start), 1),
        "window_start": start,
        "window_end": start + window,
        **server,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)
