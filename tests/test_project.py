"""A new Django project on mysqlpool: migrate, then serve requests with bounded connections.

Runs django-admin startproject, manage.py migrate and runserver (threaded) in
subprocesses, exactly as a user would, with the driver of this environment.
"""

import concurrent.futures
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from django.conf import settings

from tests.support.admin import admin_queries
from tests.support.net import free_port
from tests.support.projects import start_project
from tests.support.waiting import wait_for


@pytest.fixture
def project(tmp_path):
    server = settings.SERVER
    database = f"mysqlpool_project_{os.getpid()}"
    admin = admin_queries(server)
    admin.query(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    env = start_project(tmp_path)
    settings_file = tmp_path / "site_app" / "settings.py"
    settings_file.write_text(settings_file.read_text() + textwrap.dedent(f"""
        DATABASES = {{
            "default": {{
                "ENGINE": "mysqlpool.backends.mysqlpool",
                "NAME": {database!r}, "USER": {server.user!r},
                "PASSWORD": {server.password!r}, "HOST": {server.host!r},
                "PORT": {str(server.port)!r},
            }}
        }}
        MYSQLPOOL_DRIVER = {settings.MYSQLPOOL_DRIVER!r}
        MYSQLPOOL_ARGUMENTS = {{"pool_size": 3, "max_overflow": 0, "timeout": 30}}
        INSTALLED_APPS += ["mysqlpool"]
        ALLOWED_HOSTS = ["127.0.0.1"]
        DEBUG = False
    """))
    (tmp_path / "site_app" / "urls.py").write_text(textwrap.dedent("""
        from django.contrib.auth.models import User
        from django.db import connection
        from django.http import HttpResponse
        from django.urls import path

        def users(request):
            with connection.cursor() as cursor:
                cursor.execute("SELECT SLEEP(0.02)")
            return HttpResponse(str(User.objects.count()))

        urlpatterns = [path("users/", users)]
    """))
    yield tmp_path, env, database
    admin.query(f"DROP DATABASE IF EXISTS `{database}`")
    admin.close()


def test_new_project_migrates_and_serves_with_bounded_connections(project):
    directory, env, database = project
    manage = [sys.executable, str(directory / "manage.py")]
    migrate = subprocess.run(manage + ["migrate", "--noinput"], cwd=directory, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    assert "Applying auth.0001_initial... OK" in migrate.stdout
    check = subprocess.run(manage + ["check"], cwd=directory, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    inspect = subprocess.run(manage + ["inspectdb", "auth_user"], cwd=directory, env=env,
                             capture_output=True, text=True, timeout=120)
    assert inspect.returncode == 0, inspect.stderr
    assert "class AuthUser(models.Model):" in inspect.stdout
    if shutil.which("mariadb") or shutil.which("mysql"):
        shell = subprocess.run(
            manage + ["dbshell", "--", "-N", "-e", "SELECT COUNT(*) FROM auth_user"],
            cwd=directory, env=env, capture_output=True, text=True, timeout=120,
        )
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.strip() == "0"

    port = free_port()
    server = subprocess.Popen(
        manage + ["runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    admin = admin_queries(settings.SERVER)
    try:
        url = f"http://127.0.0.1:{port}/users/"

        def serving() -> bytes | None:
            if server.poll() is not None:
                raise AssertionError(f"runserver exited: {server.stderr.read()!r}")
            try:
                return urllib.request.urlopen(url, timeout=30).read()
            except OSError:
                return None  # not listening yet

        assert wait_for(serving, 60, f"runserver not answering at {url}", interval=0.2) == b"0"

        peak = 0

        def fetch(_):
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.read()

        with concurrent.futures.ThreadPoolExecutor(24) as executor:
            pending = {executor.submit(fetch, i) for i in range(120)}
            futures = list(pending)
            while pending:
                ((count,),) = admin.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s",
                    (database,))
                peak = max(peak, count)
                # The next sample in 10 ms, or once every request has been answered.
                pending = concurrent.futures.wait(pending, timeout=0.01).not_done
            results = [future.result() for future in futures]
        assert results == [(200, b"0")] * 120
        assert 1 <= peak <= 3, f"peak server connections {peak}, pool_size 3"
    finally:
        server.terminate()
        server.wait(30)
        admin.close()
