from crier_cli.main import main

main()
