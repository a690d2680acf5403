"""Page layout (a first version: the drawing and training tabs are being built)."""

from __future__ import annotations

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="digitnet", page_icon="✍️", layout="centered")
    st.title("digitnet")
    st.write(
        "A handwritten-digit recognizer: a small multilayer perceptron written from scratch "
        "in NumPy. Soon here: draw a digit and see what the network thinks, and retrain it "
        "live while its cost and accuracy are charted epoch by epoch."
    )
    st.info("The drawing and training pages are on their way; the library and CLI work today.")
