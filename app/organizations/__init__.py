"""Organizations: teams with a role hierarchy that share events and templates."""
