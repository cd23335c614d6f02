"""The fault suite: `crier up` under load while each of its processes is SIGKILLed in turn.

`python -m tests.chaos.run [--short]` (or `make chaos`) starts the platform simulator and `crier up`
as processes of their own on loopback, connects live accounts through the simulator's OAuth, sends
posts at a bounded rate while it kills every service, the embedded NATS server and the embedded
PostgreSQL one after the other, and then checks what a customer would: every accepted post
published, each target on its platform exactly once (the simulator's record), every webhook event
delivered, nothing left down. It prints what it did and found; a failed check is a non-zero exit.
"""
