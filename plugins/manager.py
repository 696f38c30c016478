"""Builds the plugin manager: our hookspecs plus every plugin found by entry point."""

from __future__ import annotations

import pluggy

from plugins import hookspecs


def plugin_manager(load_entry_points: bool = True, extra: tuple[object, ...] = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints("trading_ai.plugins")
    for plugin in extra:
        pm.register(plugin)
    return pm


def installed_plugins(pm: pluggy.PluginManager) -> list[str]:
    return sorted(name for name, plugin in pm.list_name_plugin() if plugin is not None)
