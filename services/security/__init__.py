"""Who may call the API and the consumers' read APIs: bearer JWTs and their scopes."""
