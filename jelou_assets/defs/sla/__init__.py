"""The SLA marts (dbt), the goal check on them, and the weekly report."""
