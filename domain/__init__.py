"""The pure core: rules and math on values and numpy arrays.

Only the standard library, attrs and numpy may be imported here (importlinter.ini enforces it).
Time comes in through the Clock port; randomness through an injected numpy Generator.
"""
