"""Every throughput aim in one run, side by side: each ratio is against its baseline measured in the same run.

  create invoice / bare aiohttp+asyncpg insert        aim >= 0.8   (bench/api_bench.py)
  get invoice / bare aiohttp+asyncpg select                         (bench/api_bench.py)
  webhook sender / bare loop of signed POSTs          aim >= 0.7   (bench/webhooks_bench.py)
  webhook sender's rate, last round / first round     aim: flat    (the deliveries table grows every round)
  per-block address matching, largest / 1k addresses  aim <= 1.2x  (bench/matching_bench.py)
  create, serve --processes 2 / --processes 1         aim >= 1.6   (bench/processes_bench.py, wrk)

Single process each (but the --processes line); the machine is shared, so every figure is the median of interleaved rounds with its range.
Run: .venv/bin/python -m bench.run_all [--quick]   (--quick: fewer requests, matching up to 100k addresses)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench import api_bench, matching_bench, processes_bench, webhooks_bench


def _row(name: str, aim: str, values: list[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    spread = f"[{fmt.format(min(values))}-{fmt.format(max(values))}]"
    return f"  {name:<44} {aim:>8}  {fmt.format(med):>7} {spread:<14} {len(values)} rounds"


async def run(quick: bool) -> list[str]:
    started = time.perf_counter()
    api = await api_bench.run_rounds(1000 if quick else 2000, 5)
    hooks = await webhooks_bench.measure(2000, 5, 0, 50.0)
    sizes = [1000, 100_000] if quick else [1000, 100_000, 1_000_000]
    matching = await matching_bench.run(sizes, 5)
    procs = await processes_bench.measure(3 if quick else 5, 5)
    ours = hooks["ours"]
    base_ms = statistics.median(matching[0]["ms"])
    lines = [
        f"  {'ratio (median of per-round ratios)':<44} {'aim':>8}  {'median':>7} {'[range]':<14}",
        _row("create invoice / bare insert", ">= 0.8", api["create"]),
        *(
            f"  {'':<44} {'':>8}  CPU ms per create, {what}: "
            + ", ".join(
                f"{k} {statistics.median(c[k] for c in api['cpu'][name]) * 1000:.3f}"
                for k in ("server", "postgres", "client")
            )
            for name, what in (("create", "gateway"), ("create_base", "baseline"))
        ),
        _row("get invoice / bare select", "", api["get"]),
        _row("webhook sender / bare signed POSTs", ">= 0.7", hooks["ratios"]),
        f"  {'webhook sender, del/s per round of 2,000':<44} {'flat':>8}  "
        + ", ".join(f"{v:.0f}" for v in ours)
        + f"  (last/first {ours[-1] / ours[0]:.2f}, min/max {min(ours) / max(ours):.2f})",
    ]
    for r in matching[1:]:
        ratios = [m / base_ms for m in r["ms"]]
        lines.append(_row(f"matching per block, {r['size']:,} / 1,000 addresses", "<= 1.2x", ratios))
        lines.append(
            f"  {'':<44} {'':>8}  former query: pages per block {r['pages']} / {matching[0]['pages']} (EXPLAIN)"
        )
    lines.append(_row("create, --processes 2 / --processes 1", ">= 1.6", procs["ratios"]))
    lines.append(
        f"  {'':<44} {'':>8}  creates/s {statistics.median(r.rate for r in procs['one']):.0f} -> "
        f"{statistics.median(r.rate for r in procs['two']):.0f}; ceiling {statistics.median(procs['alone']):.2f} "
        f"with the {procs['cores']} cores to ourselves, {statistics.median(procs['shared']):.2f} with what the "
        "machine's other processes left"
    )
    lines.append(f"  ({time.perf_counter() - started:.0f} s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("\n".join(asyncio.run(run(args.quick))))


if __name__ == "__main__":
    main()
