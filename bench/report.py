"""The markdown table and notes printed at the end, and the JSON record of a run."""

from __future__ import annotations

import json
from pathlib import Path

NOISY_OTHER_CPU_PCT = 25  # machine busy not from the server nor the load generator


def cpu_ms_per_op(result: dict) -> float | None:
    cpu, count = result.get("server_cpu_s"), result.get("count")
    if cpu is None or not count:
        return None
    return round(1000.0 * cpu / count, 3)


def db_cpu_ms_per_op(result: dict) -> float | None:
    cpu, count = result.get("db_cpu_s"), result.get("count")
    if cpu is None or not count:
        return None
    return round(1000.0 * cpu / count, 3)


def _num(value, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _mib(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def _rss(result: dict) -> tuple[str, str]:
    processes = result.get("memory_after") or []
    if not processes:
        return "-", "-"
    after = "/".join(_mib(p["rss_kb"]) for p in processes)
    peaks = [p["hwm_kb"] for p in processes]
    if len(processes) == 1:
        return after, _mib(peaks[0])
    return after, f"Σ{_mib(sum(peaks))} (max {_mib(max(peaks))})"


HEADER = (
    "| scenario | tokens in table | rate | vs oidc-provider | p50 ms | p99 ms | p99/p50 | errors "
    "| server CPU ms/op | server CPU % core | DB CPU ms/op | RSS MiB after (per process) "
    "| peak RSS MiB |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(result: dict) -> str:
    if result.get("failed"):
        return f"| {result['name']} | {_tokens(result)} | FAILED: {result['failed'][:80]} |" + (
            " |" * 10
        )
    p50, p99 = result.get("p50_ms"), result.get("p99_ms")
    tail = round(p99 / p50, 1) if p50 and p99 else None
    ratio = result.get("ratio_vs_baseline")
    after, peak = _rss(result)
    rate = f"{result['rate']:,.0f} {result['unit']}"
    if result.get("window_cut_short"):
        rate += f" (only {result['duration_s']:.1f} s)"
    cells = [
        result["name"],
        _tokens(result),
        rate,
        f"{ratio:.2f}×" if ratio else "",
        _num(p50),
        _num(p99),
        _num(tail, 1),
        str(result.get("errors", 0)),
        _num(cpu_ms_per_op(result)),
        _num(result.get("server_cpu_pct"), 0, "%"),
        _num(db_cpu_ms_per_op(result)),
        after,
        peak,
    ]
    return "| " + " | ".join(cells) + " |"


def _tokens(result: dict) -> str:
    tokens = result.get("tokens_in_table")
    return "-" if tokens is None else f"{tokens:,}"


def notes(record: dict) -> list[str]:
    lines = []
    server = record["server"]
    lines.append(
        f"authserver pid {server['pid']} (CPU affinity {server['affinity']}), "
        f"ready in {server['started_in_s']} s, {server['processes']} process(es); "
        f"load on CPUs {record['settings']['load_cpus'] or 'any'}; "
        f"database {record['settings']['dsn_kind']}; "
        f"ID tokens {record['settings'].get('id_token_alg', 'RS256')}"
    )
    for seeding in record["seeding"]:
        if seeding["rows_added"]:
            lines.append(
                f"seeded {seeding['rows_added']:,} access-token rows "
                f"({seeding['expired_added']:,} expired) by {seeding['method']} in "
                f"{seeding['insert_s']} s ({seeding['rows_per_s']:,} rows/s"
                + (f", VACUUM ANALYZE {seeding['analyze_s']} s" if seeding["analyze_s"] else "")
                + f"); table now {seeding['rows_after']:,} rows"
            )
    for growth in record["growth"]:
        lines.append(
            f"{growth['scenario']} at {growth['large']:,} vs {growth['small']:,} rows: "
            f"rate ×{growth['rate_ratio']}, server CPU ms/op ×{growth['cpu_ratio'] or '-'}, "
            f"p50 ×{growth['p50_ratio'] or '-'}"
        )
    for janitor in record["janitor"]:
        lines.append(
            f"janitor at {janitor['tokens_in_table']:,} rows: exit {janitor['exit']}, removed "
            f"{janitor['removed']}, took {janitor['elapsed_s']} s (busy during "
            f"{janitor['overlap_pct']:.0f}% of the {janitor['window_s']} s window); "
            f"{janitor['scenario']} rate ×{janitor['rate_ratio']} and p99 ×{janitor['p99_ratio']} "
            f"vs the same load without it"
        )
    noisy = []
    for result in record["results"]:
        if result.get("errors"):
            samples = "; ".join(result.get("error_samples") or []) or str(
                result.get("error_detail")
            )
            lines.append(f"{result['name']}: {result['errors']} error(s): {samples[:600]}")
        if result.get("bootstrap_errors"):
            lines.append(
                f"{result['name']}: {result['bootstrap_errors']} thread(s) could not start "
                "(their first authorization-code flow failed): fewer flows were in flight"
            )
        if result.get("token_still_active_after") is False:
            lines.append(f"{result['name']}: the introspected token was inactive after the run")
        other = result.get("other_cpu_pct")
        if other is not None and other > NOISY_OTHER_CPU_PCT:
            noisy.append(f"{result['name']} {other:.0f}%")
    if noisy:
        lines.append(
            "noisy machine: CPU busy outside the server, its database backends and the load "
            f"generator, in % of one core: {', '.join(noisy)} (compare ratios, not absolutes)"
        )
    stop = record.get("server_stop") or {}
    unclean_exit = server["started_in_s"] is not None and stop.get("exit") not in (0, None)
    if stop.get("killed") or stop.get("stray_processes") or unclean_exit:
        lines.append(f"authserver did not stop cleanly: {stop}")
    return lines


def render(record: dict) -> str:
    out = [HEADER] + [row(result) for result in record["results"]]
    out.append("")
    out += [f"- {line}" for line in notes(record)]
    return "\n".join(out)


def append_json(path: str, record: dict) -> None:
    """One JSON object per run, one per line: ``python -m bench ... --json-out runs.jsonl``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
