"""Local servers that answer as the CRM vendors' documented APIs do (§8).

Each fake keeps its records in memory, serves the vendor's endpoints over a real socket on
127.0.0.1 and can be told to misbehave the way the real service does: a burst of 5xx, HTTP
429 with `Retry-After`, an expired OAuth token. Tests, the connector contract suite
(`leadscore.testing.connectors.check_connector`) and the benchmarks use them; so may users
testing their own set-up. They follow the vendors' documentation, not our client: where the
two disagree, the fake is right.
"""
