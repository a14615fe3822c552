"""Django settings for mypy's django-stubs plugin (tox -e lint).

The plugin sets Django up with these to learn the installed apps and models,
and loads each alias's backend: none here, so no driver or server is needed
(tests.settings starts or reaches a server).
"""

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mysqlpool",
]
DATABASES: dict = {}
SECRET_KEY = "mysqlpool-mypy"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
