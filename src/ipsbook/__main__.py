"""``python -m ipsbook ...`` is ``ipsbook ...``."""

from .book.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
