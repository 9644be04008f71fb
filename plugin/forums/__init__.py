"""What the core knows of forums in general: connections, and the registry of forum kinds."""
