"""The CI rule: a pipeline of typed checks per host, and the run over many hosts."""
