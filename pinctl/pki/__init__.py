"""X.509 material only: pins, DER, reading files, describing certificates and keys,
path validation, CSRs and key generation. No sockets, no pyOpenSSL, no pin file."""
