"""The project's PostgreSQL backend (``ENGINE = "portal.db"``): Django's, with a cheaper health check."""
