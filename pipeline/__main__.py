"""`python -m pipeline`: the pipeline's command line."""
import gc
import sys

from pipeline.cli import main

code = main()
# Nothing is left to collect: freezing the heap lets the interpreter's teardown skip the objects of the
# ~1,500 modules a command imports (0.27 s -> 0.05 s at exit, on every command).
gc.freeze()
sys.exit(code)
