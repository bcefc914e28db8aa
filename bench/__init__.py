"""Benchmark: our assistant against the `rasa init` baseline under the same load (`make bench`)."""
