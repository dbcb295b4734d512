"""``python -m fabpromote``."""

from fabpromote._cli import main

raise SystemExit(main())
