"""Token signing keys: generated at first start, rotated, published as a JWKS."""
