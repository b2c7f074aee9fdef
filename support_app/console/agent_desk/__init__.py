"""The agent's desk in the inbox: the copilot (KB passages and reply templates for the selected
conversation) and the assignment worker with presence and the SLA (docs/copilot-and-queue.md)."""
