"""Pure core of the audit service: frozen models and functions, no I/O."""
