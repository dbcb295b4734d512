"""``python -m fabpromote``."""

from fabpromote._cli.app import main

raise SystemExit(main())
