"""Analysis of file writes an agent makes through its own editor tools (Write, Edit, apply_patch…).

A shell command that writes a file is the shell analyser's business; this package covers the
tools that bypass the shell entirely, so overwriting a database or a `.git` ref with an editor
tool is judged like the shell command that would do the same.
"""
