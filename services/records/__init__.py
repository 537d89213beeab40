"""Records service: worker health files; every access is traced before it is served."""
