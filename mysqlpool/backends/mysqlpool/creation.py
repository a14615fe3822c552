from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation


class DatabaseCreation(MySQLDatabaseCreation):
    """Test databases: pooled connections to a test database are closed before
    it is dropped or copied (as Django does for its PostgreSQL pool)."""

    def _destroy_test_db(self, test_database_name, verbosity):
        self.connection.close_pool()
        super()._destroy_test_db(test_database_name, verbosity)

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        self.connection.close_pool()
        super()._clone_test_db(suffix, verbosity, keepdb)
