"""`python -m creative` and the `creative` command."""

import os


def run() -> None:
    # pydantic looks for plugins through importlib.metadata on its first model (about 30 ms of
    # every start); `creative` uses none. Set before anything imports pydantic.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from creative.cli import entry

    entry()


if __name__ == "__main__":
    run()
