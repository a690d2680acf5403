"""The Streamlit app: the only part of digitnet that imports Streamlit."""
