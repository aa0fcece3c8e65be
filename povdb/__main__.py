import sys

from povdb.cli import main

sys.exit(main())
