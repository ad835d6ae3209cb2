"""RNN Training Explorer: `streamlit run app.py`.

The entry point of every page: the shared sidebar (language, presentation
mode, presenter key), then the page the URL names (see charrnn/ui/nav.py).

This file is read in two ways. `streamlit run` finds the `st.App` below and
imports the file once, in the server process, before the server starts: the
only moment early enough for the server's malloc settings
(charrnn/memory.py), and where the server tunes itself. Every script run
then executes it as `__main__`: the pages.
"""
from charrnn import memory

if __name__ == "__main__":
    from charrnn.ui.nav import ensure_navigation, navigation

    ensure_navigation()
    navigation().run()
else:
    memory.tame_malloc()   # first: before numpy's and the server's threads exist

    import streamlit as st

    from charrnn.ui import serve

    serve.tune_server()    # plotly's JSON engine, priorities, torch threads, the GC
    app = st.App(__file__, lifespan=serve.lifespan, routes=serve.routes())
