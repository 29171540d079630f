"""Model backends behind one Engine interface."""
