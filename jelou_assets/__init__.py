"""jelou-sla: Jelou attended-conversation metrics into daily team and operator SLA tables."""

import warnings

# Every asset takes a whole backfill range in one run (BackfillPolicy.single_run), a Dagster beta chosen
# knowingly; the warning names Dagster's own frame, so it cannot be silenced where the assets are declared.
# Matched by its text alone, so that importing the package (the `jelou-dbt` launcher does) loads no Dagster.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
