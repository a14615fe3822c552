"""Sphinx configuration for mysqlpool's documentation (tox -e docs)."""

import os
import sys

# Import mysqlpool from this checkout, not from an installed copy.
sys.path.insert(0, os.path.abspath(".."))

# autodoc imports mysqlpool, whose pool module imports Django's database layer:
# Django needs settings before that, configured once.
import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure()
    django.setup()

project = "mysqlpool"
author = "mysqlpool's authors"

extensions = ["myst_parser", "sphinx.ext.autodoc"]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "requirements.txt"]

# Anchors for ## and ### headings, so links such as settings.md#tls work.
myst_heading_anchors = 3

html_theme = "furo"
html_title = "mysqlpool"
