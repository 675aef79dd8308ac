"""The LLM tier: a local GGUF model (llama.cpp) or an OpenAI-compatible endpoint
judges and explains the sequences the small model escalates."""
