"""Recording in the control plane: index, retention, legal holds, exports."""
