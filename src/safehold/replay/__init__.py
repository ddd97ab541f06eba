"""The incident replayed offline: a fake provider, a real database, a scripted agent, and
safehold's layers switched on one by one (`safehold replay`, docs/replay.md)."""
