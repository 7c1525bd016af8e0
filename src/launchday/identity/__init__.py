"""Who the callers are: the brand's identity providers (issuers and their published keys)
whose tokens customers sign in with."""
