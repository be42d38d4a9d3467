"""jelou-sla: Jelou attended-conversation metrics into daily team and operator SLA tables."""

import warnings

from dagster import BetaWarning

# Every asset takes a whole backfill range in one run (BackfillPolicy.single_run), a Dagster beta chosen
# knowingly; the warning names Dagster's own frame, so it cannot be silenced where the assets are declared.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
