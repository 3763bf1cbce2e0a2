"""The soak's 60-second CI setting (bench/soak.py): the realistic mix at a rate this shared 2-core machine holds,
against 2 API processes and a worker, with payments arriving on litecoind: no errors, p99 under 100 ms, and no
process growing its memory by 10 % or more after the warm-up. The full setting (1,000 req/s for 10 minutes) is
`python -m bench.soak`."""

from __future__ import annotations

import pytest

from bench.soak import run_soak

#: Requests per second: what this machine holds with the load generator, PostgreSQL and litecoind on the same
#: two cores and another test running beside it (pytest -n 2). Measured at a load average of 12-14 (other
#: engineers' runs): 60 req/s held with p99 55 ms; 100 req/s held the rate but p99 was 530 ms; 200 req/s was not
#: held (135 achieved). A run at 50 req/s at load 14 gave p99 531 ms with every call's p50 under 42 ms: stalls
#: of the whole machine, which is why p99 is compared with a bare probe measured in the same run.
CI_RATE = 50.0


@pytest.mark.slow
async def test_a_minute_of_the_mix_has_no_errors_low_latency_and_flat_memory(litecoind, db_url, settings, tmp_path):
    result = await run_soak(litecoind, db_url, settings, tmp_path, rate=CI_RATE, seconds=60, warmup=15, seed=1)
    print("\n" + result.render())
    assert not result.errors and result.skipped == 0, result.render()
    assert result.achieved >= 0.95 * CI_RATE, result.render()
    # p99 under 100 ms above the machine's own noise in this run (a bare aiohttp + asyncpg app probed meanwhile):
    # on a quiet machine the probe's p99 is a few ms, so this is p99 < ~105 ms; while other jobs stall the
    # machine, both suffer alike
    assert result.p99 < 0.100 + result.probe_p99, result.render()
    assert result.payments > 0
    growth = result.rss_growth()
    assert set(growth) == {"api-parent", "api-1", "api-2", "worker"}
    assert all(g < 0.10 for g in growth.values()), growth
