from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation


class PoolClosingCreation:
    """Test databases: pooled connections to a test database are closed before
    it is dropped or copied (as Django does for its PostgreSQL pool). Before
    a DatabaseCreation class in the bases (stock backends get it too)."""

    def _destroy_test_db(self, test_database_name, verbosity):
        self.connection.close_pool()
        super()._destroy_test_db(test_database_name, verbosity)

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        self.connection.close_pool()
        super()._clone_test_db(suffix, verbosity, keepdb)


class DatabaseCreation(PoolClosingCreation, MySQLDatabaseCreation):
    """mysqlpool's ENGINE's DatabaseCreation."""
