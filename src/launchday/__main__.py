from launchday.cli import main

main()
