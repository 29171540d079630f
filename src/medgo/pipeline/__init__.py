"""Stage order, markers, manifests and resumption."""
