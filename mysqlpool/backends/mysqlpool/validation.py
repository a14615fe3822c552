from django.db.backends.mysql.validation import DatabaseValidation as MySQLDatabaseValidation

from mysqlpool.checks import alias_errors, as_check_error


class PoolSettingsValidation:
    """``manage.py check --database`` (and ``migrate``): the pool settings
    first. Django's own checks connect to the server, which bad pool settings
    would only obscure. Before a DatabaseValidation class in the bases (stock
    backends get it too)."""

    def check(self, **kwargs):
        alias, settings_dict = self.connection.alias, self.connection.settings_dict
        errors = alias_errors(alias, settings_dict)
        if not errors:
            return super().check(**kwargs)
        # The checks end here, with these errors, as when a check connects
        # with them: once, whether or not mysqlpool's own check (which reports
        # them too) runs in this run, or has run already.
        reported = as_check_error(alias, settings_dict, errors)
        if reported is not None:
            raise reported
        return errors


class DatabaseValidation(PoolSettingsValidation, MySQLDatabaseValidation):
    """mysqlpool's ENGINE's DatabaseValidation."""
