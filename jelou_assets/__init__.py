"""jelou-sla: Jelou attended-conversation metrics into daily team and operator SLA tables."""
