"""The ``token`` and ``introspect`` scenarios: wrk, through the shared harness when it is there
(``../shared/bench/bench.py``: req/s, latency percentiles, errors, server CPU and RSS), else
wrk directly with ``wrk_post.lua``."""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.procfs import TreeSampler

LUA = Path(__file__).with_name("wrk_post.lua")
REQUEST_TIMEOUT_S = 5
HARNESS_EXIT_S = 0.1  # from the end of the harness's measured run to its exit (about)


@dataclass(frozen=True)
class Endpoints:
    """Where one server issues and introspects tokens, and how clients authenticate."""

    label: str
    token_url: str
    introspect_url: str
    introspect_auth: str  # "none" (Hydra's admin port) or "basic"
    client_id: str = "bench"
    client_secret: str = "bench-secret"

    @property
    def basic_auth(self) -> str:
        raw = f"{urllib.parse.quote(self.client_id, safe='')}:"
        raw += urllib.parse.quote(self.client_secret, safe="")
        return "Basic " + base64.b64encode(raw.encode()).decode()


class LoadError(Exception):
    pass


def _post(url: str, form: dict, auth: str = "") -> tuple[int, str]:
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - loopback
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, str(exc)


def probe(endpoints: Endpoints, scenario: str) -> str:
    """One request of the scenario by hand: a readable reason after wrk counted errors."""
    grant = {"grant_type": "client_credentials"}
    status, text = _post(endpoints.token_url, grant, endpoints.basic_auth)
    if scenario == "token" or status != 200:
        return f"token: HTTP {status} {text[:200]}"
    form = {"token": json.loads(text)["access_token"]}
    auth = endpoints.basic_auth if endpoints.introspect_auth == "basic" else ""
    status, text = _post(endpoints.introspect_url, form, auth)
    return f"introspect: HTTP {status} {text[:200]}"


def run(
    endpoints: Endpoints,
    scenario: str,
    *,
    harness: Path | None,
    server_pid: int | None,
    load_cpus: str,
    concurrency: int,
    duration: int,
    warmup: int,
) -> dict:
    if harness is not None:
        result = _run_harness(
            endpoints, scenario, harness, server_pid, load_cpus, concurrency, duration, warmup
        )
    else:
        result = _run_wrk(endpoints, scenario, server_pid, load_cpus, concurrency, duration, warmup)
    if result["errors"]:
        result["error_samples"] = [probe(endpoints, scenario)]
    return result


# -- through the shared harness ---------------------------------------------------------


def _run_harness(endpoints, scenario, harness, server_pid, load_cpus, conc, duration, warmup):
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", prefix="benchcmd-") as out:
        command = [
            sys.executable,
            str(harness / "bench.py"),
            "--token-url", endpoints.token_url,
            "--introspect-url", endpoints.introspect_url,
            "--introspect-auth", endpoints.introspect_auth,
            "--client-id", endpoints.client_id,
            "--client-secret", endpoints.client_secret,
            "--scenarios", scenario,
            "--concurrency", str(conc),
            "--duration", str(duration),
            "--warmup", str(warmup),
            "--load-cpus", load_cpus,
            "--req-timeout", str(REQUEST_TIMEOUT_S),
            "--label", endpoints.label,
            "--json-out", out.name,
        ]  # fmt: skip
        if server_pid:
            command += ["--server-pid", str(server_pid)]
        bound = 2 * (duration + warmup) + 120
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=bound)
        except subprocess.TimeoutExpired:
            raise LoadError(f"harness took more than {bound} s ({scenario})") from None
        # The measured wrk run ended just before the harness's last check and exit.
        window_end = time.time() - HARNESS_EXIT_S
        lines = [line for line in out.read().splitlines() if line.strip()]
    if finished.returncode != 0 or not lines:
        detail = (finished.stderr or finished.stdout).strip()[-600:]
        raise LoadError(f"harness failed ({scenario}, rc={finished.returncode}): {detail}")
    row = json.loads(lines[-1])
    cpu_pct = row.get("server_cpu_pct")
    return {
        "scenario": scenario,
        "driver": "harness",
        "unit": "req/s",
        "duration_s": row["duration_s"],
        "count": row["requests"],
        "rate": row["rps"],
        "p50_ms": row["p50_ms"],
        "p90_ms": row["p90_ms"],
        "p99_ms": row["p99_ms"],
        "max_ms": row["max_ms"],
        "mean_ms": row["mean_ms"],
        "errors": row["errors"] + row["body_mismatch"],
        "error_detail": {**row["err_detail"], "body_mismatch": row["body_mismatch"]},
        "server_cpu_pct": cpu_pct,
        "server_cpu_s": (
            round(cpu_pct / 100.0 * row["duration_s"], 3) if cpu_pct is not None else None
        ),
        "load_cpu_pct": row.get("wrk_cpu_pct"),
        "other_cpu_pct": row.get("other_cpu_pct"),
        "machine_busy_pct": row.get("cpu_busy_pct"),
        "token_still_active_after": row.get("token_still_active_after"),
        "window_start": window_end - row["duration_s"],
        "window_end": window_end,
        "harness_row": row,
    }


# -- wrk directly -----------------------------------------------------------------------


def _wrk(url, env_extra, load_cpus, conc, seconds) -> dict:
    wrk = shutil.which("wrk")
    if not wrk:
        raise LoadError("wrk not found (apt-get install wrk), and no shared harness")
    command = ["timeout", "-k", "5", str(seconds + 30)]
    if load_cpus:
        command += ["taskset", "-c", load_cpus]
    command += [wrk, "-t", "1", "-c", str(conc), "-d", f"{seconds}s"]
    command += ["--timeout", f"{REQUEST_TIMEOUT_S}s", "-s", str(LUA), url]
    finished = subprocess.run(
        command,
        env={**os.environ, **env_extra},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    found = re.search(r"^BENCHCMD_RESULT (\{.*\})$", finished.stdout, re.M)
    if finished.returncode != 0 or not found:
        raise LoadError(f"wrk failed (rc={finished.returncode}): {finished.stderr[-400:]}")
    return json.loads(found.group(1))


def _run_wrk(endpoints, scenario, server_pid, load_cpus, conc, duration, warmup):
    if scenario == "token":
        url, auth = endpoints.token_url, endpoints.basic_auth
        form = {"grant_type": "client_credentials"}
        expect = '"access_token"'
    else:
        grant = {"grant_type": "client_credentials"}
        status, text = _post(endpoints.token_url, grant, endpoints.basic_auth)
        if status != 200:
            raise LoadError(f"no token to introspect: HTTP {status} {text[:200]}")
        url = endpoints.introspect_url
        form = {"token": json.loads(text)["access_token"]}
        auth = endpoints.basic_auth if endpoints.introspect_auth == "basic" else ""
        expect = '"active":true'
        status, text = _post(url, form, auth)
        if status != 200 or expect not in text:
            raise LoadError(f"introspection check failed: HTTP {status} {text[:200]}")
    env = {
        "BENCHCMD_BODY": urllib.parse.urlencode(form),
        "BENCHCMD_AUTH": auth,
        "BENCHCMD_EXPECT": expect,
    }
    if warmup > 0:
        _wrk(url, env, load_cpus, conc, warmup)
    sampler = TreeSampler(server_pid) if server_pid else None
    if sampler:
        sampler.start()
    window_start, before = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = _wrk(url, env, load_cpus, conc, duration)
    window_end, after = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    server = sampler.stop() if sampler else {}
    seconds = out["duration_us"] / 1e6
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "scenario": scenario,
        "driver": "wrk",
        "unit": "req/s",
        "duration_s": round(seconds, 3),
        "count": out["requests"],
        "rate": round(out["requests"] / seconds, 1),
        "p50_ms": out["p50_us"] / 1000,
        "p90_ms": out["p90_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "max_ms": out["max_us"] / 1000,
        "mean_ms": round(out["mean_us"] / 1000, 3),
        "errors": out["socket_errors"] + out["unexpected"],
        "error_detail": {
            "socket": out["socket_errors"],
            "status": out["status_errors"],
            "unexpected_answer": out["unexpected"],
        },
        "load_cpu_pct": round(100.0 * wrk_cpu / (window_end - window_start), 1),
        "window_start": window_start,
        "window_end": window_end,
        **server,
    }
