"""The config's schema (`schema`, registered with Hydra on import) and its checks (`validate`)."""
