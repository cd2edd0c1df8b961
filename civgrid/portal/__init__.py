"""The resident portal (居民端): report without an account, follow, add information, rate."""
