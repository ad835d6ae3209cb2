"""app.py for AppTest. AppTest treats every run as a fresh server's first
one; beside a pages/ folder that means Streamlit's legacy router (and a
rerun in ensure_navigation) on every run. This folder has no pages/, so
AppTest sees what a browser sees once the server has started."""
from charrnn.ui.nav import navigation

navigation().run()
