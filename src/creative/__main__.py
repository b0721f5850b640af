from creative.cli import main

main()
