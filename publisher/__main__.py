"""`python -m publisher` is the `publisher` command."""

from publisher.cli import main

raise SystemExit(main())
