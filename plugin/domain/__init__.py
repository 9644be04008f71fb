"""The mentorship domain: programs, sign-ups, matching, pairs, the journey, commands, erasure."""
