from logsentry.cli import main

main()
