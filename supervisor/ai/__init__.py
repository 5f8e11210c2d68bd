"""Model providers: the [ai] config, SDK clients shared by the process, routing and the cascade."""
