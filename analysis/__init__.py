"""Post-hoc analysis of neuromic result files (run with Debian's /usr/bin/python3)."""
