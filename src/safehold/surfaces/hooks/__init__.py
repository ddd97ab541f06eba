"""Pre-tool hooks for coding agents: one module per agent protocol, one shared runner.

`safehold hook <agent>` is started by the agent before every tool call, so this package keeps
its import cost small: the decision path is imported only when a call needs judging.
"""
