"""The work engine: clock, leases, inbox, outbox and call budget. No mentorship, no forum."""
