"""A viewer and the demo's shared state, without Streamlit: session, saved viewers, personas."""
