"""Settings shared by every gunicorn started from this directory: `make run`, the Docker image, the
fault tests and the benchmarks. Command-line options still override them."""

# gunicorn 25 and later open a control socket in the home directory by default. Nothing here uses it,
# and several servers on one machine (tests running beside a benchmark) would fight over the one path.
control_socket_disable = True
