from mer4d.cli import main

main()
