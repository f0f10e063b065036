"""pinctl: TLS certificate pinning that fails closed."""

__version__ = "0.1.0"
