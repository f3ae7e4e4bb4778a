import sys

from harflow.cli import main

sys.exit(main())
