# Production image: gunicorn serves the web, the same image runs the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_DEBUG=false

WORKDIR /app
RUN useradd --create-home --uid 10001 portal
# Exactly the versions of the lock, each file checked against its hash, then the project without
# resolving anything again: a new release of a dependency never reaches an image by surprise.
COPY requirements/base.txt ./requirements/base.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/base.txt
# The project itself: every app, templates and translations (.dockerignore keeps out the virtualenv,
# the embedded services' data, tests, benchmarks and the git history), so a new app is never left out.
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && pip check \
    && mkdir -p /app/var/static /app/var/media && chown -R portal /app/var
# collectstatic needs settings but no database or broker: give it throwaway values.
RUN SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    PII_ENCRYPTION_KEYS=build PII_HASH_KEY=build python manage.py collectstatic --no-input -v 0

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
