import pytest
from django.db import connections
import mysqlpool
from django.conf import settings as s
from tests.aliases import temporary_alias

pytestmark = pytest.mark.usefixtures("database_access")

def test_smoke():
    with temporary_alias("st", **s.SERVER.django(ENGINE="django.db.backends.mysql", OPTIONS={"pool": {"pool_size": 2}})) as c:
        print(type(c), type(c).__mro__[:3], c.driver.name)
        with c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            a = cur.fetchone()
        c.close()
        with c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            b = cur.fetchone()
        c.close()
        print(a, b, mysqlpool.stats()["st"]["connects"])
        assert a == b
    print(type(connections["stock"]))
