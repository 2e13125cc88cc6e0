"""Who may call the API and the consumers' read APIs: bearer JWTs and their scopes.

- `authenticator_from(settings)`: at each composition root; ConfigurationError when unusable.
- `current_principal` / `principal_of(authenticator)`: FastAPI `Security` dependencies.
- `Principal`: the caller (`sub`, `scopes`); `forbidden(...)`: a 403 for a missing scope.
"""

from services.security.authenticator import Authenticator, authenticator_from
from services.security.dependencies import (
    AuthProblem,
    current_principal,
    forbidden,
    principal_of,
)
from services.security.principal import UNCHECKED, Principal

__all__ = [
    "UNCHECKED",
    "AuthProblem",
    "Authenticator",
    "Principal",
    "authenticator_from",
    "current_principal",
    "forbidden",
    "principal_of",
]
