from crier.cli.main import main

main()
