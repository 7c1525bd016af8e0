"""Who the callers are: the brand's identity providers (issuers and their published keys)
whose tokens customers sign in with."""

# A customer id, whoever signed the token: something an index and a log can hold.
MAX_CUSTOMER_ID = 128
