"""app.py for AppTest. AppTest treats every run as a fresh server's first
one; beside a pages/ folder that means Streamlit's legacy router (and a
rerun in ensure_navigation) on every run. This folder has no pages/, so
AppTest sees what a browser sees once the server has started.

Of app.py's server tuning (charrnn/ui/serve.py, tune_server) only the
charts' JSON engine is taken here: the rest would change the test process."""
from charrnn.ui import serve
from charrnn.ui.nav import navigation

serve.use_plain_json()

navigation().run()
