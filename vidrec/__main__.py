"""``python -m vidrec``: see vidrec/cli.py."""

import sys

from vidrec.cli import main

sys.exit(main())
