"""``python -m digitnet``: see :mod:`digitnet.cli`."""

import sys

from .cli import main

sys.exit(main())
