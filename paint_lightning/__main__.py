"""``python -m paint_lightning`` is the ``paint`` command."""

from paint_lightning.commands.cli import main

if __name__ == "__main__":
    main()
