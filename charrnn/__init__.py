"""charrnn: d2l 8.5's character-level RNN from scratch, instrumented.

The engine (data, model, train, generate, runs) never imports streamlit;
only charrnn.ui does.
"""
