from gridmirror.cli import main

main()
