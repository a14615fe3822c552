from django.db.backends.mysql.validation import DatabaseValidation as MySQLDatabaseValidation

from mysqlpool.checks import alias_errors


class DatabaseValidation(MySQLDatabaseValidation):
    """``manage.py check --database``: the pool settings first. Django's own
    checks connect to the server, which bad pool settings would only obscure."""

    def check(self, **kwargs):
        errors = alias_errors(self.connection.alias, self.connection.settings_dict)
        return errors or super().check(**kwargs)
