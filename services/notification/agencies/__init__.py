"""Notification's integration with other agencies: the public complaint stream projected from the
internal lifecycle (``public``), the agencies' subscriptions to it (``subscriptions``, their routes
under ``/api/v1/subscriptions`` in ``api``) and the signed webhooks that deliver it (``webhooks``). It
runs in notification's process and database, in consumer groups of its own
(``minwon-notification-public`` and ``minwon-notification-webhooks``) that progress and replay
independently of the notices; see docs/public-events.md."""
