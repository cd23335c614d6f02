"""Infrastructure shared by every Crier service. No domain logic lives here."""
