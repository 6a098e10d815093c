import sys
from pathlib import Path

# The tests share small factories (tests/notebooks.py) without being a package.
sys.path.insert(0, str(Path(__file__).parent))
