"""gunicorn settings for prometheus_client's multi-process mode, as it documents."""

from prometheus_client import multiprocess


def child_exit(server, worker):
    # An exited worker's live gauges (mysqlpool_connections, ...) go with it.
    multiprocess.mark_process_dead(worker.pid)
