"""How the bundled mock servers make themselves known, so that a demo is never charged to a real budget."""

# The mock ComfyUI (/system_stats) and the mock RunPod endpoint (/health) answer with this header set
# to "1"; a backend that says so and has no price of its own costs nothing.
MOCK_HEADER = "X-Creative-Mock"
