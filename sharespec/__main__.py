"""``python -m sharespec``: the command line."""
from sharespec.cli import main

raise SystemExit(main())
