"""`python -m pipeline`: the pipeline's command line."""
import sys

from pipeline.cli import main

sys.exit(main())
