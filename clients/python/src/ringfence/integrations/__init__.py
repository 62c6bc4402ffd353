"""Guards for agent frameworks: ``langchain``, ``mcp`` and ``openai_agents``.

Each imports its framework only when used, so ``ringfence`` itself depends on httpx alone.
"""
