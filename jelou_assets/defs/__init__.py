"""The code location's definitions, one folder per concern, loaded by `dagster.load_from_defs_folder`.

Each module ends with a `@definitions` function: it reads the settings when the code location loads
(not when the module is imported) and builds that module's assets, checks, jobs, schedules or sensors.
"""
