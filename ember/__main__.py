"""``python -m ember ...`` is the ``ember`` command."""

import sys

from ember.cli.main import main

sys.exit(main())
