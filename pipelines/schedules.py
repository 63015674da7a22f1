"""The nightly schedule: 02:00 London time, loading whatever is in the inbox into tonight's load date."""

from __future__ import annotations

import dagster as dg

from pipelines.settings import LONDON


def nightly_schedule(job: dg.JobDefinition | object) -> dg.ScheduleDefinition:
    @dg.schedule(name="kpo_nightly_0200", cron_schedule="0 2 * * *", execution_timezone=str(LONDON), job=job,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Load the inbox, build, check and publish, every night at 02:00 (Europe/London).")
    def _nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        # The partition is the London date the run happens on, which is the load date it writes.
        load_date = context.scheduled_execution_time.astimezone(LONDON).date().isoformat()
        return dg.RunRequest(partition_key=load_date, tags={"kpo/trigger": "schedule"})

    return _nightly
