"""Analytics over the Rasa tracker store and the support database: dashboard figures and /metrics."""
