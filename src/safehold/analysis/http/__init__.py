"""HTTP and GraphQL analysis: provider API calls, from the gateway, a hook or a curl command.

`analyzer.HttpAnalyzer` is the entry point (kind "http"); `shell_clients.request_from_argv`
turns curl / wget / httpie command lines into the same request input.
"""
