"""digitnet's web app: `streamlit run streamlit_app.py` (the views live in digitnet.app)."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: leave a core free

from digitnet.app.main import main

main()
