"""The names mysqlpool exports (no server, no Django settings)."""

from __future__ import annotations

import pytest

import mysqlpool


def test_dir_lists_every_public_name():
    # PoolTimeout is given by the module's __getattr__ (the pool is imported
    # on first use); dir() must list it as well, as autodoc reads dir().
    assert set(mysqlpool.__all__) <= set(dir(mysqlpool))
    assert "__version__" in dir(mysqlpool)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError):
        mysqlpool.NoSuchName  # noqa: B018
