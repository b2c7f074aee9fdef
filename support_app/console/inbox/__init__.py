"""The agent inbox: pages and APIs, staff checks, the backend over handoffs, the live stream, reply templates."""
