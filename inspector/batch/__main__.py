"""`python -m inspector.batch SITE ...`: the batch without the main CLI (same as `desk-inspector batch`)."""

import sys

from inspector.batch.cli import main

sys.exit(main())
