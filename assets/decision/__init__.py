"""The decision cycle: agent assets feeding the consensus that emits orders."""
