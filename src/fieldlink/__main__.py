"""``python -m fieldlink`` runs the command-line tool."""

from fieldlink.cli import main

if __name__ == "__main__":
    main()
