"""The stock-trading game: exact money, race-safe trades, and one Finnhub quote feed for the whole process."""

from supervisor.sdk import EnvKey, Feature, Setting, float_range, int_range

FEATURE = Feature(
    name="stocks",
    summary="the virtual stock-trading game (Finnhub prices)",
    cog="features.stocks.cog:StocksCog",
    default_enabled=True,
    permissions=frozenset({"view_channel", "send_messages", "embed_links", "read_message_history"}),
    settings={
        "quote_ttl": Setting(float, 60.0, rule=float_range(1, 3600),
                             doc="seconds a price is shown from the process-wide cache before Finnhub is asked again"),
        "trade_quote_max_age": Setting(float, 15.0, rule=float_range(1, 300),
                                       doc="seconds: a buy or sell uses a price no older than this"),
        "stale_quote_max_age": Setting(float, 900.0, rule=float_range(0, 86400),
                                       doc="seconds: when Finnhub fails, `price` shows a cached price up to this old, "
                                           "marked stale (trades never use one)"),
        "calls_per_minute": Setting(int, 60, rule=int_range(1, 10000),
                                    doc="Finnhub calls a minute for this instance's API key (the free plan allows 60)"),
        "busy_wait": Setting(float, 2.0, rule=float_range(0, 30),
                             doc="seconds a request may wait for the key's budget before 'prices are busy'"),
        "request_timeout": Setting(float, 10.0, rule=float_range(0.5, 60), doc="seconds to wait for Finnhub"),
    },
    env={"FINNHUB_API_KEY": EnvKey("Finnhub API key for stock prices (free at finnhub.io); without it, stock "
                                   "commands say trading is not configured",
                                   missing="is not set: stock commands answer that trading is not configured; get a "
                                           "free key at finnhub.io, or turn the feature off ([features] stocks = "
                                           "false)")},
)
