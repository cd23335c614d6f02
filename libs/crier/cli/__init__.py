"""The `crier` command: run the whole stack on one machine, one service, migrations, admin tasks."""
