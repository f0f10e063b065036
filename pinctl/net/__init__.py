"""Reaching servers: targets, proxies, waits as steps, the pool that runs them, and TLS.
The only sockets and the only pyOpenSSL in pinctl."""
