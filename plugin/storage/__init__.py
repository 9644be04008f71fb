"""Storage: the engine, the tables and their migrations. Imports nothing above it."""
