"""Sessions, members and invites: rules, service, HTTP controllers."""
