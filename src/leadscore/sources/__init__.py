"""Lead sources' platform adapters (§8): verifying each ad platform's signatures and reading
its deliveries, and the HTTP clients that fetch what a delivery only points at (Meta's Graph
API). Like the CRM connectors they talk to the vendors and know no database; the service
writes what they read (service/sources.py)."""
