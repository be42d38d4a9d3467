"""HTTP emulator of Jelou's attended-conversations metrics API, with deterministic data.

    with JelouEmulator(per_day=50) as emu:
        requests.post(f"{emu.url}/v1/metrics/conversations/attended/external", ...)

Run standalone with `python -m jelou_assets.emulator --port 8765`.
"""

from .dataset import SyntheticDataset
from .server import ENDPOINT, FAULTS, EmulatorConfig, JelouEmulator

__all__ = ["EmulatorConfig", "JelouEmulator", "SyntheticDataset", "ENDPOINT", "FAULTS"]
