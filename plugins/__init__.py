"""pluggy hookspecs and the plugin manager for V2 features (sentiment, RL, GAN).

Plugins are found through the `trading_ai.plugins` entry-point group (as pytest finds its
plugins): a package declares `[project.entry-points."trading_ai.plugins"] name = "module"` and the
module implements any hooks of `plugins.hookspecs` decorated with `plugins.hookimpl`.
"""

from plugins.hookspecs import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
