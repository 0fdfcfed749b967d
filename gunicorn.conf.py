"""Settings shared by every gunicorn started from this directory: `make run`, the Docker image, the
fault tests and the benchmarks. Command-line options still override them."""

import sys
from pathlib import Path

# gunicorn 25 and later open a control socket in the home directory by default. Nothing here uses it,
# and several servers on one machine (tests running beside a benchmark) would fight over the one path.
control_socket_disable = True

# gunicorn's own lines — start-up, workers booting and exiting, the access log — as the same JSON lines
# as the application's, so one log collector reads them all. (gunicorn reads this file before the
# project directory is on the import path.)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from portal.logs import JSON_FORMATTER, PERSONAL_NUMBER_FILTER  # noqa: E402

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "filters": {"personal_numbers": PERSONAL_NUMBER_FILTER},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["personal_numbers"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["personal_numbers"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
