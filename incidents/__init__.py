"""Service incidents (outages): recorded by operations, told to customers who ask, followed up when resolved."""
