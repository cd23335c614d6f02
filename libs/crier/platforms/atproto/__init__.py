"""The AT Protocol pieces Bluesky's platform module is built from: identifier syntax, rich-text
facets, identity resolution (handle → DID → PDS), and atproto OAuth with DPoP."""
