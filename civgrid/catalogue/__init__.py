"""The category catalogue (事项清单): national components and matters, grid service items,
time limits per stage, and the routing rules that pick the responsible department."""
