"""``python -m fabpromote``."""

from fabpromote._cli.console import main

raise SystemExit(main())
