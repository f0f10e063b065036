"""One module per check of verify's pipeline; `pinctl.verify.pipeline` puts them in order."""
