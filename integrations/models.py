"""Slack, Stripe and calendar connections and the record of every outside call
(the integration issues build these)."""
