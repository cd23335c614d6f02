"""Use cases of the webhook dispatcher: endpoint management (`endpoints`), the delivery log
(`deliveries`), the event intake and feed (`events`), and the dispatch loop's steps (`dispatch`)."""
