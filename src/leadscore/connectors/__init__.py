"""CRM connectors (§8): thin HTTP clients for HubSpot, Salesforce and Pipedrive.

Each connector speaks its vendor's documented REST API through `httpx` and gives the service
the same few things: pages of people and deals changed since a cursor, batch reads by id,
batch updates with a result per record, custom-field set-up and the CRM's owners. They know
no database (the service stores cursors, links and what was last written) and take a base
URL and an `httpx` transport, so tests reach local servers that answer as the vendors do
(`leadscore.testing.fakes`). Why thin clients rather than the vendors' SDKs:
docs/connectors.md.
"""
