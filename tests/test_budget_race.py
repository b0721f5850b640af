"""Five `creative run` processes at once against a cap that allows exactly two: the ledger lock across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cli_helpers import EXAMPLE_PAGE


def test_parallel_runs_never_pass_the_cap(tmp_path, mock_comfy):
    server = mock_comfy(latency=0.2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATIVE_")}
    # One variant at $0.04 per run; a $0.08 cap allows exactly two runs.
    env.update(CREATIVE_BUDGET_CAP_USD="0.08", CREATIVE_COST_PER_IMAGE_USD="0.04")
    command = [sys.executable, "-m", "creative", "run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static",
               "--variants", "1", "--comfy-url", server.url, "--runs-dir", "runs", "-q", "--no-cache"]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(5)]
    outcomes = [(p.wait(timeout=240), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 0, 3, 3, 3], outcomes
    for code, stderr in outcomes:
        if code == 3:
            assert "budget guard refused" in stderr and "cap $0.08" in stderr
    assert len(server.received_prompts) == 2  # refused runs sent nothing

    events = [json.loads(line) for line in (tmp_path / "runs" / "budget.jsonl").read_text().splitlines()]
    committed = 0.0
    open_reservations: dict[str, float] = {}
    for event in events:  # replay the ledger: at no point does committed spend pass the cap
        if event["event"] == "reserve":
            open_reservations[event["run_id"]] = open_reservations.get(event["run_id"], 0) + event["amount_usd"]
        elif event["event"] == "settle":
            open_reservations.pop(event["run_id"], None)
            committed += event["amount_usd"]
        assert committed + sum(open_reservations.values()) <= 0.08 + 1e-9
    assert [e["event"] for e in events].count("reserve") == 2
    assert round(committed, 6) == 0.08
