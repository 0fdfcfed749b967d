"""One log line format for the application (``settings.LOGGING``) and for gunicorn's own lines
(``gunicorn.conf.py``): a JSON object per line, with an ISO 8601 UTC ``timestamp``."""

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "timestamp": True,
}
