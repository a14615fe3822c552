"""A small Django project that the end-to-end tests serve with gunicorn and
uvicorn and run Celery workers for; configured from DEPLOY_* environment
variables (see settings.py)."""
