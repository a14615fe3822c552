from django.db.backends.mysql.validation import DatabaseValidation as MySQLDatabaseValidation

from mysqlpool.checks import alias_errors


class PoolSettingsValidation:
    """``manage.py check --database``: the pool settings first. Django's own
    checks connect to the server, which bad pool settings would only obscure.
    Before a DatabaseValidation class in the bases (stock backends get it too)."""

    def check(self, **kwargs):
        errors = alias_errors(self.connection.alias, self.connection.settings_dict)
        return errors or super().check(**kwargs)


class DatabaseValidation(PoolSettingsValidation, MySQLDatabaseValidation):
    """mysqlpool's ENGINE's DatabaseValidation."""
