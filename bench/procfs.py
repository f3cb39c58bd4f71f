"""What the benchmark reads from /proc: a process tree, its CPU time and its memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return text.rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and all its living descendants (``serve --workers N`` forks children)."""
    if not Path(f"/proc/{root}").exists():
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))  # fields[1] = ppid
    tree, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            tree.append(child)
            todo.append(child)
    return sorted(tree)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (their own threads included)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return ticks / CLOCK_TICKS


def memory(pids: list[int]) -> list[dict]:
    """Per process: pid, VmRSS (now) and VmHWM (peak since it started), in KiB."""
    out = []
    for pid in pids:
        values = {"pid": pid, "rss_kb": 0, "hwm_kb": 0}
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    values["rss_kb"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    values["hwm_kb"] = int(line.split()[1])
        except OSError:
            continue
        out.append(values)
    return out


def machine_busy() -> dict[str, tuple[int, int]]:
    """Per CPU: (busy jiffies, total jiffies) from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            values = [int(v) for v in line.split()[1:9]]
            total = sum(values)
            out[line.split()[0]] = (total - values[3] - values[4], total)  # minus idle, iowait
    return out


def busy_percent(before: dict, after: dict) -> dict[str, float]:
    return {
        cpu: round(
            100.0 * (after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1]), 1
        )
        for cpu in after
        if cpu in before
    }


def affinity(pid: int) -> str:
    try:
        return ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(pid)))
    except OSError:
        return "?"


class TreeSampler:
    """CPU time of a server's process tree over a window, and its memory afterwards."""

    def __init__(self, root: int):
        self.root = root

    def start(self) -> None:
        self._pids = process_tree(self.root)
        self._cpu = cpu_seconds(self._pids)
        self._machine = machine_busy()
        self._t0 = time.monotonic()

    def stop(self) -> dict:
        wall = time.monotonic() - self._t0
        pids = sorted(set(self._pids) | set(process_tree(self.root)))
        # A process that exited during the window loses its ticks; forks made during the
        # window count from zero (both rare: workers are forked at start-up).
        used = cpu_seconds(pids) - self._cpu
        return {
            "server_cpu_s": round(used, 3),
            "server_cpu_pct": round(100.0 * used / wall, 1) if wall > 0 else None,
            "window_wall_s": round(wall, 3),
            "machine_busy_pct": busy_percent(self._machine, machine_busy()),
        }
