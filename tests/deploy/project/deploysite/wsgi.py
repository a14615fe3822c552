import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deploysite.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if os.environ.get("DEPLOY_QUERY_AT_IMPORT"):
    # An app that touches the database while it loads: under gunicorn
    # --preload this runs in the master, before the workers are forked, and
    # the master keeps that connection checked out.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        IMPORT_CONNECTION_ID = cursor.fetchone()[0]
    with open(os.environ["DEPLOY_QUERY_AT_IMPORT"], "w") as file:
        file.write(f"{os.getpid()} {IMPORT_CONNECTION_ID}\n")
