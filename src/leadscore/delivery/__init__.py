"""Delivery: what talks to the outside world for automations (SPEC §6), with no database.

Each call is one attempt that either succeeds or raises `errors.DeliveryError` saying whether
a retry may help; the outbox worker decides when to try again. `signing` signs and verifies
webhooks as Standard Webhooks does, `hooks` posts signed webhooks and Slack-style messages,
`mail` sends e-mail over SMTP or writes it to a folder, and `render` makes the messages from
templates that a user may override.
"""
