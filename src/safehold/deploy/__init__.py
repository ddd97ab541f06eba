"""Deployments that put safehold out of the agent's reach (`safehold setup --system`)."""
