"""The runner tests' job kinds, registered by the tests (``jobs_kind_modules``), never in a
production worker. ``example.sleep`` writes one output blob in steps, reports progress and
honours cancel; ``example.fanout`` sums ranges over prepare → map → reduce (its first part
fails, retryably, in the first ``first_part_flaky_attempts`` attempts; its parts wait while
the file ``gate`` names exists, so a test can act while they are surely running)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from spatialviz.job.context import JobContext, JobError
from spatialviz.job.registry import JobKind, JobResult, job_kind, register_job_kind

SLEEP, FANOUT = "example.sleep", "example.fanout"


@job_kind(SLEEP, queue="light")
def sleep_job(ctx: JobContext) -> JobResult:
    steps = int(ctx.params.get("steps", 5))
    step_seconds = float(ctx.params.get("step_seconds", 0.1))
    fail_at = ctx.params.get("fail_at")
    key = f"jobs/{ctx.job_id}/output/result.txt"
    writer = ctx.output(key)
    try:
        for step in range(steps):
            if fail_at is not None and step == int(fail_at):
                raise JobError("example_failure", f"Failed on purpose at step {step}.")
            time.sleep(step_seconds)
            writer.write(f"step {step} attempt {ctx.attempt}\n".encode())
            ctx.progress((step + 1) / steps, f"step {step + 1} of {steps}")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {"key": key, "steps": steps}


def _plan(ctx: JobContext) -> list[Any]:
    time.sleep(float(ctx.params.get("prepare_seconds", 0.0)))
    n, chunks = int(ctx.params.get("n", 100)), int(ctx.params.get("chunks", 4))
    size = -(-n // chunks)
    return [[start, min(start + size, n)] for start in range(0, n, size)]


def _sum_range(ctx: JobContext, item: Any) -> int:
    start, stop = int(item[0]), int(item[1])
    if start == 0 and ctx.attempt <= int(ctx.params.get("first_part_flaky_attempts", 0)):
        raise JobError("flaky", "The first part fails on purpose.", retryable=True)
    time.sleep(float(ctx.params.get("item_seconds", 0.0)))
    gate = ctx.params.get("gate")
    while gate and Path(gate).exists():
        time.sleep(0.05)
    ctx.check_cancelled()
    total = sum(range(start, stop))
    ctx.put_output(f"jobs/{ctx.job_id}/parts/{start:08d}.txt", str(total).encode())
    return total


def _merge(ctx: JobContext, values: list[Any]) -> JobResult:
    total = sum(int(v) for v in values)
    key = f"jobs/{ctx.job_id}/output/total.txt"
    ctx.put_output(key, str(total).encode())
    return {"total": total, "parts": len(values), "key": key}


register_job_kind(JobKind(FANOUT, queue="heavy", prepare=_plan, map=_sum_range, reduce=_merge))
