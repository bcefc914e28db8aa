"""`python -m channels.server <rasa command> ...`: how every Rasa process of this project starts.

It installs the speedups (channels/speedups.py) and what keeps contact details out of the
logs (channels/privacy_patches.py, actions/privacy/log_masking.py), then hands the same
arguments to Rasa's own command line: `python -m channels.server run -m models/admissions.tar.gz ...` is
`rasa run ...` with the speedups, `python -m channels.server shell ...` is `rasa shell ...`.
Importing `channels` or its modules (as Rasa does for the channel and the tracker store)
patches nothing, so a Rasa started any other way runs plain Rasa.

RASA_SPEEDUPS=off starts Rasa without the speedups through here too (the privacy patches
stay). On a Rasa the patches were not written for, it exits with status 1 before Rasa
starts, saying which patch does not fit.
"""

from __future__ import annotations

import logging
import os
import sys

from actions.privacy import log_masking
from channels import privacy_patches, speedups
from channels.door import DoorSettings
from channels.patching import RefusedPatches
from channels.tracker_cache import CacheSettings

# Rasa's own log format: its command line configures logging only after parsing the arguments.
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)  # replaced by Rasa's handler later
    try:
        speedups.install_as_configured()
        privacy_patches.install()
    except RefusedPatches as refusal:
        sys.exit(f"Cannot start Rasa: {refusal}")
    try:
        DoorSettings.from_env()  # the REST channel reads them again when Rasa creates it
        CacheSettings.from_env(os.environ)  # and the tracker store these (Rasa would fall back to memory)
    except ValueError as error:
        sys.exit(f"Cannot start Rasa: {error}")
    log_masking.install()
    # Imported only now: importing Rasa's command line changes the warning filters, which
    # would let the imports above print libraries' deprecation warnings.
    from rasa.__main__ import main as rasa_main

    rasa_main()  # reads the arguments from sys.argv, as the `rasa` command does


if __name__ == "__main__":
    main()
