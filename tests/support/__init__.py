"""The one place for what tests share: servers, proxies, a pty, certificates, judges, pin files.

Test files import from here, never from each other."""
