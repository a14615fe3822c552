"""Tests that need neither a server nor Django's settings.

Run them on their own with pytest-django switched off, so that nothing starts
or connects to a server:

    pytest tests/unit -p no:django

With pytest-django on (plain ``pytest``) they run in the full suite too.
Nothing here may import Django's database layer or tests.settings.
"""
