"""What Crier's services agree on: events, commands, RPC messages and their subjects.

Schema evolution follows msgspec's rules: new fields get defaults, existing fields never change
type. A breaking change gets a new subject.
"""
