"""Real-time factor of the main job (``./run.sh``: the composed simulated cell), idle and with one core busy.

Runs ``python -m grasp_bringup.main`` (what ``./run.sh`` runs) twice in one invocation on the same
seed — once as it is, once while a second process keeps one core busy (a pure-Python loop, the
kind of load another node or job puts on a 2-core machine) — and reads the job's own summary line
(``… N s wall, sim time M s (… physics fell behind K time(s), D s dropped)``, both over the pick run,
after the nodes are built). Real-time factor = simulated seconds / wall seconds (1.0: the simulation
kept pace with the clock; the simulator node paces itself to real time, so the factor cannot exceed
1 by more than one pacing step). The simulator counts the times it fell more than 0.2 s behind the
clock and gave that time up: 0 means it kept pace throughout. Also prints the picks, their mean
cycle and the CPU time of the job.

Run in the workspace environment::

    . scripts/bootstrap.sh && python bench/realtime.py [--objects 5] [--seed 0]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"summary: attempts=(\d+) successes=(\d+) mean_cycle_s=([\d.na]+)"
                     r".*?([\d.]+) s wall, sim time ([\d.]+) s .*?fell behind (\d+) time\(s\), ([\d.]+) s dropped")


def _burn(stop) -> None:  # one busy core
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def run_job(args: list[str], domain: int) -> dict:
    """One main-job run: its summary figures, wall and CPU seconds."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", GRASP_ROOT=str(REPO))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grasp_bringup.main", *args], env=env, capture_output=True,
                          text=True, timeout=900)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = SUMMARY.search(proc.stdout + proc.stderr)
    if proc.returncode != 0 or m is None:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"main job failed (exit {proc.returncode}): {' | '.join(tail)}")
    attempts, ok, cycle, job_wall, sim, drops, dropped = m.groups()
    return {"attempts": int(attempts), "successes": int(ok), "mean_cycle_s": float(cycle),
            "job_wall_s": float(job_wall), "sim_s": float(sim), "process_wall_s": wall,
            "drops": int(drops), "dropped_s": float(dropped),
            "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "rtf": float(sim) / max(float(job_wall), 1e-9)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=5, help="objects in the scene (default 5, as ./run.sh)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    job = ["--n-objects", str(args.objects), "--seed", str(args.seed), "--output", str(REPO / "bench" / "out" / "rt")]
    rows = {}
    domain = 1 + (os.getpid() * 7 + 77) % 100
    print(f"[bench] main job, idle ({os.cpu_count()} cores) …", flush=True)
    rows["idle"] = run_job(job, domain)
    stop = mp.Event()
    burner = mp.Process(target=_burn, args=(stop,), daemon=True)
    burner.start()
    try:
        print("[bench] main job, one core busy …", flush=True)
        rows["one core busy"] = run_job(job, domain)
    finally:
        stop.set()
        burner.join(5)
    print("\nMain job (composed simulated cell), real-time factor = simulated s / wall s:")
    for name, r in rows.items():
        print(f"  {name:<14} rtf {r['rtf']:.3f}  ({r['sim_s']:.1f} s simulated in {r['job_wall_s']:.1f} s wall; "
              f"fell behind {r['drops']}x, {r['dropped_s']:.1f} s dropped; job CPU {r['cpu_s']:.0f} s)  "
              f"picks {r['successes']}/{r['attempts']}, mean cycle {r['mean_cycle_s']:.2f} s")
    return 0 if all(r["successes"] > 0 for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
