"""Test support that tests, benchmarks and users can reuse: random models and data (needs
hypothesis), the engine conformance suite, and throw-away databases (`scratch`)."""
