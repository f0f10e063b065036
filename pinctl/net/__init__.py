"""Reaching servers: targets, proxies, waits as steps, the pool that runs them, STARTTLS
dialogues (`pinctl.net.starttls`), and TLS.
The only sockets and the only pyOpenSSL in pinctl."""
