"""How a run executes its steps: in the run's own process unless the run config asks for one per step.

A day's run is eight short steps; a subprocess per step re-imports the definitions each time (seconds of
CPU apiece) and dominates the run. Process isolation is worth it when one step may exhaust memory
(a 50,000-conversation day with a small container) or to run independent steps in parallel; ask for it
in the launchpad or with `--config-json`:

    execution:
      config:
        multiprocess: true
        max_concurrent: 2
"""

from dagster import Definitions, ExecutorDefinition, Field, definitions, multi_or_in_process_executor


def _executor_config(config: dict) -> dict:
    if config["multiprocess"]:
        return {"multiprocess": {"max_concurrent": config["max_concurrent"]}}
    return {"in_process": {}}


step_executor: ExecutorDefinition = multi_or_in_process_executor.configured(
    _executor_config,
    name="in_process_unless_multiprocess",
    config_schema={
        "multiprocess": Field(bool, default_value=False, description="One subprocess per step."),
        "max_concurrent": Field(
            int, default_value=0, description="With multiprocess: steps at once (0: one per CPU)."
        ),
    },
)


@definitions
def defs() -> Definitions:
    return Definitions(executor=step_executor)
