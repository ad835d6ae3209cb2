"""RNN Training Explorer: `streamlit run app.py`.

The entry point of every page: the shared sidebar (language, presentation
mode, presenter key), then the page the URL names (see charrnn/ui/nav.py).
"""
from charrnn.ui.nav import ensure_navigation, navigation

ensure_navigation()
navigation().run()
