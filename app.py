"""RNN Training Explorer: `streamlit run app.py`.

The entry point of every page: shared sidebar (language, presentation mode,
presenter key), then the page the URL names. Each page's url_path equals its
file name, so a deep link resolves to the same page whether Streamlit routes
it through st.navigation or through the pages/ folder on a fresh server.
"""
import streamlit as st

from charrnn import ui

ui.ensure_navigation()
st.set_page_config(
    page_title="RNN Training Explorer", page_icon=":material/autorenew:", layout="wide",
    initial_sidebar_state="collapsed"
    if st.query_params.get("present") in ("1", "true") else "auto")
ui.setup_page()

PAGES = [("train", ":material/model_training:"), ("hidden_state", ":material/grid_on:"),
         ("gradients", ":material/show_chart:"), ("generate", ":material/edit_note:")]
nav = st.navigation([
    st.Page(f"pages/{name}.py", title=ui.tr(f"page.{name}"), icon=icon, url_path=name,
            default=(name == "train"))
    for name, icon in PAGES])
nav.run()
