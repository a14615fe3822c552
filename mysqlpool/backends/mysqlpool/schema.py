from django.db.backends.mysql.schema import DatabaseSchemaEditor as MySQLSchemaEditor


class DatabaseSchemaEditor(MySQLSchemaEditor):
    def quote_value(self, value):
        # Django asks MySQLdb's escape(); each driver escapes its own way.
        self.connection.ensure_connection()
        return self.connection.driver.quote_value(self.connection.connection, value)
