"""Prints the driver mysqlpool uses: ``python which_driver.py [gevent|eventlet]``
(monkey-patched by that library first, or not at all)."""

import sys

if sys.argv[1:] == ["gevent"]:
    from gevent import monkey

    monkey.patch_all()
elif sys.argv[1:] == ["eventlet"]:
    import eventlet

    eventlet.monkey_patch()

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
print(connection.driver.name)
