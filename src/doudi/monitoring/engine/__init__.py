"""The warning rules and the engines that run them. Imports no Django (CONVENTIONS: one rule
definition serves the night sweep, the incremental run and Spark)."""
